"""`streamlit run app.py` from a checkout: runs the packaged dashboard script, mmviz/app/main.py."""
import runpy

from mmviz.app import MAIN_SCRIPT

runpy.run_path(str(MAIN_SCRIPT), run_name="__main__")
