"""mmviz: open up a text + audio + video fusion model and show why it predicted what it did.

Data flows one way (see README "Architecture"):
clip bytes -> media -> ClipFeatures -> model -> Inspection -> Explanation -> figures -> pages.
"""

__version__ = "0.1.0"
