"""Layout of the Click2Graph page, notebook-style: 1 Video -> 2 Prompt -> 3 Track & discover -> 4 Scene graph ->
5 Export, each cell with a line on what happens inside. All event wiring is grouped after the layout."""

from __future__ import annotations

import gradio as gr

from click2graph.semantics.vocab import OPENPVSG
from demo import handlers, server, views
from demo.page import FIELDS, as_outputs

INTRO = """# Click2Graph
Click a subject in a video: it is segmented and tracked through the clip, the objects it interacts with are
found and tracked too, and their relations over time form a **temporal scene graph**."""

# Phones, laptops and projectors: the frame and the plots take the room there is, tables scroll inside their box.
# The frame is never scaled up in the browser (Gradio's click coordinates assume it is not): views.frame_view sends
# it at a display size instead.
CSS = """
#example-gallery .grid-wrap { height: auto !important; max-height: none !important; min-height: 0 !important; }
#example-gallery .grid-container { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)) !important; }
#example-gallery .thumbnail-item { aspect-ratio: 16 / 9; height: auto !important; }
#frame-image, #frame-image .image-container, #frame-image .image-frame { height: auto !important; }
#frame-image img { max-height: min(68vh, 860px); }
#timeline-plot, #graph-plot { min-height: 360px; }
"""

MAX_WAITING_BUILDS = 16  # builds waiting for their turn in the server's queue (more wait in Gradio's queue)

CELLS = {
    "video": "### 1 · Pick an example or upload a video\nThe clip is decoded into *working frames*: long or large "
    "inputs are trimmed and downsized to what this machine can afford, never rejected.",
    "prompt": "### 2 · Prompt\nChoose a frame, then click the subject: the segmenter returns its mask on that frame "
    "at once. Negative clicks cut parts away; *box* takes two clicks (opposite corners).",
    "build": "### 3 · Track & discover\n*Build* tracks the subject both ways through the clip, finds the objects "
    "it interacts with and relates them.",
    "track": "#### Tracked entities\nThe subject is tracked forward and backward from the prompt frame; objects "
    "it touches or approaches are discovered on keyframes and tracked too. Entities are named by CLIP when its "
    "model is present (confidence and top 5 in the table; an uncertain name ends in ?). Fix a label or a "
    "predicate, or drop an object, below: only what changed is recomputed, and look-alike entities and pairs "
    "learn your corrections, in this video and the next ones you open.",
    "graph": "### 4 · Scene graph\nEvery subject–object pair gets predicates frame by frame; smoothed spans become "
    "the timeline's bars. The graph shows the relations holding at the frame chosen in cell 2.",
    "export": "### 5 · Export\nFiles other tools read: OpenPVSG-style scene-graph JSON, COCO RLE masks, the overlay "
    "video (H.264) and the timeline as HTML. The same run from Python is below.",
}


def cache_cleanup(age: int) -> tuple[int, int]:
    """``(every_s, age_s)`` of Gradio's file cache cleanup (previews, downloads, uploads): files older than
    ``age`` seconds (``CLICK2GRAPH_FILE_MAX_AGE_S``, default an hour) go, checked every tenth of that (at most
    every 10 minutes)."""
    return max(1, min(600, age // 10)), age


def build_demo() -> gr.Blocks:
    """The page, its wiring and its queue: builds take turns in the server's queue (the waiting ones are told
    their place); clicks, frame changes and undo run beside them."""
    here = server.current()
    with gr.Blocks(title="Click2Graph", delete_cache=cache_cleanup(here.limits.file_max_age_s)) as demo:
        key = gr.State(None, delete_callback=handlers.on_unload)  # the tab's visit key, set when it opens a video
        gr.Markdown(INTRO)
        gr.Markdown(views.plain_status(here.building.backend, here.building.pipeline.semantics), elem_id="status-line")
        with gr.Accordion("Details: models and settings of this server", open=False):
            gr.Markdown(here.status(), elem_id="status-details")

        gr.Markdown(CELLS["video"])
        with gr.Row():
            example_gallery = gr.Gallery(
                handlers.example_cards(),
                label="Examples (preset click, result cached): pick one",
                columns=6,
                height="auto",
                allow_preview=False,
                object_fit="cover",
                elem_id="example-gallery",
                scale=3,
                min_width=300,
            )
            with gr.Column(scale=1, min_width=240):
                video_in = gr.Video(label="…or upload a video", sources=["upload"], elem_id="video-input", height=200)
                video_info = gr.Markdown(handlers.limits_text(), elem_id="video-info")

        with gr.Column(visible=False) as prompt_cell:
            gr.Markdown(CELLS["prompt"])
            with gr.Row():
                with gr.Column(scale=3, min_width=300):
                    frame_image = gr.Image(
                        label="Frame (click to prompt)",
                        interactive=False,
                        type="numpy",
                        elem_id="frame-image",
                        format="jpeg",  # a click's preview is ~10x smaller than as PNG (Gradio keeps each a while)
                    )
                    with gr.Row():
                        prev_frame = gr.Button("◀", scale=0, min_width=50, elem_id="prev-frame")
                        frame_slider = gr.Slider(0, 1, step=1, value=0, label="Working frame", elem_id="frame-slider")
                        next_frame = gr.Button("▶", scale=0, min_width=50, elem_id="next-frame")
                with gr.Column(scale=2, min_width=260):
                    click_mode = gr.Radio(
                        handlers.CLICK_MODES, value=handlers.POSITIVE, label="A click adds", elem_id="click-mode"
                    )
                    subject_pick = gr.Radio(
                        [("subject 1", views.NEW_SUBJECT)],
                        value=views.NEW_SUBJECT,
                        label="Subject (clicks go to)",
                        elem_id="subject-picker",
                    )
                    with gr.Row():
                        undo = gr.Button("Undo", elem_id="undo-button", min_width=80)
                        clear = gr.Button("Clear subject", elem_id="clear-button", min_width=80)
                        reset = gr.Button("Reset all", elem_id="reset-button", min_width=80)
                    prompt_info = gr.Markdown("", elem_id="prompt-info")
                    gr.Markdown(CELLS["build"])
                    build_button = gr.Button(
                        "Build scene graph", variant="primary", elem_id="build-button", interactive=False
                    )
                    build_status = gr.Markdown(views.START, elem_id="build-status", min_height=48)
                    discovery_pick = gr.Radio(
                        list(here.strategies),
                        value=here.assembled.strategy,
                        label="Interaction discovery",
                        elem_id="discovery-pick",
                    )

        with gr.Column(visible=False) as results_cell:
            gr.Markdown(CELLS["track"])
            with gr.Row():
                overlay = gr.Video(
                    label="Tracked subject and objects", elem_id="overlay-video", loop=True, height=320, min_width=300
                )
                entity_gallery = gr.Gallery(
                    label="Entities", columns=4, height=320, elem_id="entity-gallery", min_width=300
                )
            entity_table = gr.Dataframe(
                headers=views.ENTITY_HEADERS, label="Entities", interactive=False, elem_id="entity-table", wrap=True
            )
            with gr.Row():
                entity_pick = gr.Dropdown([], label="Entity", elem_id="relabel-entity", min_width=160)
                class_pick = gr.Dropdown(
                    list(OPENPVSG.classes),
                    value=None,
                    label="OpenPVSG class (optional)",
                    elem_id="relabel-class",
                    min_width=160,
                )
                relabel_text = gr.Textbox(
                    label="New label",
                    placeholder="free text or a class",
                    elem_id="relabel-text",
                    max_length=handlers.MAX_LABEL_CHARS,
                    min_width=160,
                )
                with gr.Column(min_width=120):
                    relabel = gr.Button("Relabel", elem_id="relabel-button")
                    drop = gr.Button("Drop object", variant="stop", elem_id="drop-button")
            with gr.Row():
                relation_pick = gr.Dropdown([], label="Relation", elem_id="relation-pick", min_width=200)
                predicate_pick = gr.Dropdown(
                    list(OPENPVSG.predicates),
                    value=None,
                    allow_custom_value=True,
                    label="Right predicate",
                    elem_id="predicate-pick",
                    min_width=160,
                )
                rename_predicate = gr.Button("Correct predicate", elem_id="rename-predicate-button", min_width=120)
            with gr.Row(visible=here.pipeline.semantics.classifier is not None):  # own words need the CLIP model
                class_words = gr.Textbox(
                    label="Name entities with your own words",
                    placeholder="e.g. person, dog, frisbee (empty: the 126 OpenPVSG classes)",
                    elem_id="class-words",
                    scale=4,
                    max_length=handlers.MAX_WORDS_CHARS,
                )
                use_words = gr.Button("Use these words", elem_id="class-words-button", min_width=120)

            gr.Markdown(CELLS["graph"])
            with gr.Row():
                timeline = gr.Plot(label="Relations over time", elem_id="timeline-plot", scale=3, min_width=320)
                graph_plot = gr.Plot(
                    label="Scene graph at the current frame", elem_id="graph-plot", scale=2, min_width=300
                )

            gr.Markdown(CELLS["export"])
            downloads = gr.File(label="Downloads", file_count="multiple", elem_id="downloads")
            snippet = gr.Code(label="The same run from Python", language="python", elem_id="code-snippet")

        # Twins of the gallery pick and the image click for API clients (gradio_client) and tests.
        with gr.Row(visible=False):
            example_name = gr.Textbox(label="example")
            example_api = gr.Button("load example")
            click_x, click_y = gr.Number(label="x"), gr.Number(label="y")
            click_positive = gr.Checkbox(value=True, label="positive")
            click_api, add_object_api = gr.Button("click"), gr.Button("add object")

        # -- wiring: every event's outputs are all of page.FIELDS; a handler's Update says which ones change ----
        components = locals()
        outputs = [components[name] for name in FIELDS]
        # Light events show their status (and an error) on the prompt line only; builds on the build line only:
        # an error is one notice, and every other panel keeps what it showed.
        light = {"outputs": outputs, "show_progress_on": [prompt_info], "preprocess": False}
        heavy = {
            "outputs": outputs,
            "show_progress_on": [build_status],
            "preprocess": False,
            "concurrency_limit": here.limits.build_concurrency + MAX_WAITING_BUILDS,  # the waiting ones see their turn
            "concurrency_id": "build",
        }

        # 1. a new video or an example (an example builds at once, from the cache when it can)
        video_in.upload(
            as_outputs(handlers.on_video),
            [video_in, key],
            outputs,
            show_progress_on=[prompt_info],
            api_name="upload_video",
        ).then(  # the video input shows the visit's video, also when the upload was refused
            as_outputs(handlers.on_video_shown),
            [video_in, key],
            outputs,
            api_visibility="private",
            show_progress="hidden",
        )
        example_gallery.select(
            as_outputs(handlers.on_example_select), [key], api_visibility="private", **light
        ).success(as_outputs(handlers.on_example_build), [frame_slider, key], api_visibility="private", **heavy)
        example_api.click(as_outputs(handlers.on_example), [example_name, key], api_name="load_example", **light)
        # 2. frame choice: the frame image, the timeline cursor and the graph view follow the slider
        frame_slider.change(
            as_outputs(handlers.on_frame),
            [frame_slider, key],
            trigger_mode="always_last",
            api_name="frame",
            **{**light, "show_progress": "hidden"},
        )
        prev_frame.click(as_outputs(handlers.on_prev), [frame_slider, key], api_visibility="private", **light)
        next_frame.click(as_outputs(handlers.on_next), [frame_slider, key], api_visibility="private", **light)
        # 2. prompts: image clicks, their numeric twins, undo / clear / reset, the subject selector
        frame_image.select(
            as_outputs(handlers.on_image_select), [click_mode, frame_slider, key], api_visibility="private", **light
        )
        click_api.click(
            as_outputs(handlers.on_click_xy),
            [click_x, click_y, click_positive, frame_slider, click_mode, key],
            api_name="click",
            **light,
        )
        add_object_api.click(
            as_outputs(handlers.on_add_object_xy), [click_x, click_y, frame_slider, key], api_name="add_object", **light
        )
        undo.click(as_outputs(handlers.on_undo), [frame_slider, key], api_name="undo", **light)
        clear.click(as_outputs(handlers.on_clear), [frame_slider, key], api_name="clear", **light)
        reset.click(as_outputs(handlers.on_reset), [frame_slider, key], api_name="reset", **light)
        subject_pick.input(
            as_outputs(handlers.on_subject), [subject_pick, frame_slider, key], api_name="subject", **light
        )
        # 3. build, and corrections that recompute only what changed
        build_button.click(as_outputs(handlers.on_build), [frame_slider, key], api_name="build", **heavy)
        class_pick.input(handlers.on_class_pick, [class_pick], [relabel_text], api_visibility="private")
        relabel.click(
            as_outputs(handlers.on_relabel), [entity_pick, relabel_text, frame_slider, key], api_name="relabel", **heavy
        )
        drop.click(as_outputs(handlers.on_drop), [entity_pick, frame_slider, key], api_name="drop", **heavy)
        rename_predicate.click(
            as_outputs(handlers.on_rename_predicate),
            [relation_pick, predicate_pick, frame_slider, key],
            api_name="rename_predicate",
            **heavy,
        )
        discovery_pick.input(
            as_outputs(handlers.on_discovery), [discovery_pick, frame_slider, key], api_name="discovery", **heavy
        )
        use_words.click(
            as_outputs(handlers.on_class_words), [class_words, frame_slider, key], api_name="class_words", **heavy
        )
    return demo.queue(default_concurrency_limit=8, max_size=64)
