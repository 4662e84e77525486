"""The dashboard's pages, one script per page. Streamlit runs them (see ``mmviz/app/main.py``);
nothing imports them. A package so that the wheel carries them like any other module."""
