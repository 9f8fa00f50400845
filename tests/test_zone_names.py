"""Zone facts read from the one-pass zone index: the member names shown in a threat."""

from hypothesis import given
from hypothesis import strategies as st

from threatline.engine.facts import join_names, join_sorted_names


@given(st.sets(st.text(min_size=1, max_size=6), max_size=30))
def test_join_sorted_names_is_join_names_of_the_sorted_names(names):
    assert join_sorted_names(names, "none") == join_names(sorted(names), "none")
