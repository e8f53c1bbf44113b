"""The Gradio UI of Click2Graph: layout and thin event handlers only; all logic lives in ``click2graph``."""
