"""Stable test ids of the dashboard (``st.container(key=...)`` → CSS class ``st-key-<id>``).

The pages and the browser tests both refer to these names; change them here and in the page.
"""

PREDICTION_CARD = "prediction-card"
VIDEO_PLAYER = "video-player"
TIMELINE = "timeline"
ATTENTION = "attention-heatmap"
FUSION = "fusion-inspector"
CONTRIBUTIONS = "contributions"
WORDS = "word-attributions"
COUNTERFACTUALS = "counterfactuals"
CLIP_MAP = "clip-map"
CLIP_INPUT = "clip-input"
CLIP_ERROR = "clip-error"
RECORDING = "recording"  # the whole-recording section above the views of one utterance
TSNE_MAP = "tsne-map"
CLIP_TABLE = "clip-table"
METRICS = "metrics"
REPORT_EXPORT = "report-export"
PRESENTATION = "presentation"
NOTES_FORM = "notes-form"
NOTES_LIST = "notes-list"

ANALYSIS_PROGRESS = "analysis-progress"  # the stage text and bar of a running analysis
LABEL_ERROR = "label-error"  # the message under an invalid label
CF_BESIDE = "cf-beside"  # the latest counterfactual beside the original, head by head
WHAT_IF = "what-if"  # the transcript editor
WHAT_IF_COMPARE = "what-if-compare"  # original and edited analyses side by side

#: every view of Clip review that must be on screen once a clip is analysed
CLIP_VIEWS = (PREDICTION_CARD, VIDEO_PLAYER, TIMELINE, ATTENTION, FUSION, CONTRIBUTIONS, WORDS, COUNTERFACTUALS, CLIP_MAP)

EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'


def css(test_id: str) -> str:
    """CSS selector of the element with this test id."""
    return f".st-key-{test_id}"
VERDICTS = "dataset-verdicts"  # the model's Shapley verdicts over the dataset (Dataset explorer, Error analysis)
ALIGNMENT = "alignment-metrics"  # matched/mismatched cosine and R@k beside the map
SLICES = "user-slices"  # the analyst's named slices and their metrics
SIMILAR = "similar-clips"  # nearest neighbours of the chosen clip
COMPETITION = "competition"  # modality-competition diagnostics (Error analysis)
ALIGNMENT_VIEW = "alignment-view"  # the modalities of the same clips on one map (Dataset explorer)
COMPARE_DATASET = "compare-dataset"  # checkpoints compared on one dataset (Compare)
