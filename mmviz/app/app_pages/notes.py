"""Notes and tags per clip, shared by everyone using this server, kept across restarts."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmviz.app_service import cached, ui
from mmviz.errors import MmvizError

st.title("Notes and tags")
svc = cached.service_or_stop()
db = cached.get_notes()
res = ui.current()

with st.container(key="notes-form", border=True):
    if res is None:
        st.info("Open a clip in Clip review to add notes to it. All notes are listed below.")
    else:
        st.subheader(f"Add a note to {ui.plain(res.features.clip_id)}", anchor=False)
        if st.session_state.pop(ui.NOTE_SAVED, False):  # cleared only after the note is safely stored
            st.session_state["note_text"], st.session_state["note_tags"] = "", ""
            st.success("Saved.")
        with st.form("note_form", clear_on_submit=False):
            author = st.text_input("Your name (optional)", key="note_author")
            text = st.text_area("Note", key="note_text")
            tags = st.text_input("Tags (comma-separated)", key="note_tags")
            if st.form_submit_button("Save note", type="primary"):
                if text.strip() or tags.strip():
                    try:
                        db.add(res.features.content_hash, res.features.clip_id, text.strip(), tags, author=author.strip(),
                               checkpoint_hash=res.inspection.checkpoint_hash)
                    except MmvizError as e:  # the text stays in the box
                        ui.error(e)
                    else:
                        st.session_state[ui.NOTE_SAVED] = True
                        st.rerun()
                else:
                    st.warning("Write a note or a tag first.")

all_tags = db.tags()
tag = st.selectbox("Filter by tag", ["(all)"] + all_tags, key="note_filter")
notes = db.all(None if tag == "(all)" else tag)
if res is not None and st.toggle("Only this clip", key="only_clip"):
    notes = [n for n in notes if n.content_hash == res.features.content_hash]
with st.container(key="notes-list"):
    if not notes:
        st.caption("No notes yet.")
    else:
        # st.dataframe renders cells as text: notes, tags and clip names are never interpreted as HTML
        st.dataframe(pd.DataFrame([{"clip": n.clip_id, "note": n.text, "tags": ", ".join(n.tags), "author": n.author,
                                    "created": n.created, "checkpoint": n.checkpoint_hash[:12], "id": n.id} for n in notes]),
                     hide_index=True, width="stretch")
