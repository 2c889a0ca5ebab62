"""Story: the portfolio's findings as a sequence of screens for a meeting, one chart each."""

import streamlit as st

from dashboard.app.context import load, page_setup, run_action
from dashboard.app.exports import export_buttons, finding_figure, load_slide, story_inputs
from dashboard.services import saved_stories, story
from dashboard.services.views import story as story_view

ctx = page_setup(
    "Portfolio story",
    "The findings of every page as a sequence of screens for a meeting: one chart and its "
    "finding per screen, with the period, filters and data date beneath it. Choose, drop and "
    "reorder the screens; the link keeps the sequence and the screen shown.",
)

SCREEN_KEY = "screen"  # position, 1-based, in the URL as ?screen=N
SEQUENCE_KEY = "screens"  # the chosen sequence, in the URL as ?screens=whale&screens=...

if SEQUENCE_KEY not in st.session_state and SEQUENCE_KEY not in st.query_params:
    st.session_state[SEQUENCE_KEY] = list(story.DEFAULT_STORY)


def _current() -> int:
    """The screen shown: the widget's value, or the link's before the widget has run."""
    value = st.session_state.get(SCREEN_KEY)
    if value is None:
        try:
            value = int(st.query_params.get(SCREEN_KEY, 1))
        except ValueError:
            value = 1
    return max(int(value), 1)


def _move(offset: int) -> None:
    """Move the screen shown ``offset`` places in the sequence (it stays the one shown)."""
    sequence = list(st.session_state[SEQUENCE_KEY])
    here = _current() - 1
    there = here + offset
    if 0 <= here < len(sequence) and 0 <= there < len(sequence):
        sequence[here], sequence[there] = sequence[there], sequence[here]
        st.session_state[SEQUENCE_KEY] = sequence
        st.session_state[SCREEN_KEY] = there + 1


def _step(offset: int, count: int) -> None:
    current = _current()
    st.session_state[SCREEN_KEY] = min(max(current + offset, 1), count)


def _open_story(stories: dict[str, tuple[str, ...]]) -> None:
    name = st.session_state.get("story_name")
    if name in stories:
        st.session_state[SEQUENCE_KEY] = list(stories[name])
        st.session_state[SCREEN_KEY] = 1


def _reset() -> None:
    st.session_state[SEQUENCE_KEY] = list(story.DEFAULT_STORY)
    st.session_state[SCREEN_KEY] = 1


# In presentation mode (sidebar switch, ?present=true) the screen shows the story only.
presenting = bool(st.session_state.get("present"))
with st.expander("Screens of the story", icon=":material/format_list_numbered:"):
    chosen = st.multiselect(
        "Screens, in order",
        list(story.SCREENS),
        format_func=lambda key: story.SCREENS[key].name,
        key=SEQUENCE_KEY,
        bind="query-params",
        help="Add a screen by picking it (it goes to the end), drop one with its ×; move the "
        "screen shown with the buttons below.",
    )
    buttons = st.columns(3)
    buttons[0].button(
        "Move this screen earlier", on_click=_move, args=(-1,), icon=":material/arrow_upward:"
    )
    buttons[1].button(
        "Move this screen later", on_click=_move, args=(1,), icon=":material/arrow_downward:"
    )
    buttons[2].button("Default story", on_click=_reset, icon=":material/restart_alt:")
    stories = dict(load(story_view.stories, ctx))
    st.selectbox(
        "Open a named story",
        list(stories),
        index=None,
        key="story_name",
        placeholder="Built-in or saved stories",
        on_change=_open_story,
        args=(stories,),
        help="Built-in: default (every screen), value, cx. Saved: stories an administrator "
        "saved here; `python -m dashboard report --story NAME` writes any of them.",
    )
    if ctx.access.may_write:
        name_column, save_column = st.columns([3, 1], vertical_alignment="bottom")
        name = name_column.text_input("Save this sequence as", max_chars=44, key="story_save_name")
        if save_column.button("Save story", icon=":material/save:", width="stretch"):
            try:
                saved = run_action(ctx, saved_stories.save, name, story.parse_screens(chosen))
            except ValueError as exc:
                st.error(f"{exc}.", icon=":material/error:")
            else:
                st.success(
                    f"Saved '{saved}': `python -m dashboard report --story \"{saved}\"`.",
                    icon=":material/check:",
                )

sequence = story.parse_screens(chosen)
if not sequence:
    st.info(
        "The story has no screen. Pick screens above, or go back to the default story.",
        icon=":material/playlist_add:",
    )
    st.stop()

count = len(sequence)
if _current() > count:
    st.session_state[SCREEN_KEY] = count
previous_column, position_column, next_column = st.columns([1, 4, 1], vertical_alignment="center")
previous_column.button(
    "Previous",
    on_click=_step,
    args=(-1, count),
    icon=":material/arrow_back:",
    disabled=_current() <= 1,
    width="stretch",
)
next_column.button(
    "Next",
    on_click=_step,
    args=(1, count),
    icon=":material/arrow_forward:",
    icon_position="right",
    disabled=_current() >= count,
    width="stretch",
)
with position_column:
    position = st.pagination(
        count, key=SCREEN_KEY, bind="query-params", width="stretch", max_visible_pages=count
    )

inputs = story_inputs(ctx)
key = sequence[position - 1]
slide = load_slide(ctx, key, inputs)
st.caption(f"Screen {position} of {count}: **{slide.name}** (from the {slide.page} page)")
if slide.chart is None:
    st.subheader(slide.finding)
    st.caption(slide.subtitle)
    st.info(slide.empty or "Nothing to show.", icon=":material/filter_alt_off:")
else:
    st.plotly_chart(finding_figure(slide), width="stretch", key=f"story_chart_{key}")
left, right = st.columns([1, 3])
with left.popover("Definitions of the figures", icon=":material/help:"):
    for term, text in slide.definitions:
        if text:
            st.markdown(f"**{term}.** {text}")
if slide.tables:
    with right.expander("The numbers behind the chart", icon=":material/table_view:"):
        for table in slide.tables:
            st.caption(table.title)
            st.dataframe(table.shown(), hide_index=True, width="stretch")

if presenting:
    st.stop()

st.divider()
st.subheader("Take it to the meeting")
st.caption(
    "The whole story as you see it (every screen, in this order, for these filters), or this "
    "screen alone. Scheduled: `python -m dashboard report` (docs/cli.md)."
)
whole = [load_slide(ctx, k, inputs) for k in sequence]
export_buttons(ctx, whole, "story", inputs, title="Customer portfolio story", images=False)
st.caption("This screen:")
export_buttons(ctx, [slide], f"story_{key}", inputs, title=slide.name)
