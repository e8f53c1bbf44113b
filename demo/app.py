"""Layout of the Click2Graph page (notebook-style: video -> prompt -> build -> scene graph -> export)."""

from __future__ import annotations

import gradio as gr

from demo import handlers

INTRO = """# Click2Graph
Click a subject in a video: it is segmented and tracked through the clip, the objects it interacts with are
found and tracked too, and their relations over time form a **scene graph**."""


def build_demo() -> gr.Blocks:
    examples = handlers.load_examples()
    with gr.Blocks(title="Click2Graph") as demo:
        state = gr.State(handlers.new_state, delete_callback=handlers.on_unload)  # removes the user's files
        gr.Markdown(INTRO)
        gr.Markdown(f"**Backend:** {handlers.PIPELINE.describe()}")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### 1. Video\nUpload a clip or pick an example.")
                video_in = gr.Video(label="Input video", sources=["upload"])
                example_pick = gr.Dropdown([e["name"] for e in examples], label="Example (with a preset click)",
                                           value=None)
                limits = gr.Markdown(handlers.POLICY.describe())
            with gr.Column():
                gr.Markdown("### 2. Prompt\nChoose a frame and click on the subject; negative clicks remove parts.")
                frame_image = gr.Image(label="Frame (click to prompt)", interactive=False, type="numpy")
                frame_slider = gr.Slider(0, 1, step=1, value=0, label="Frame")
                with gr.Row():
                    mode = gr.Radio(["positive", "negative"], value="positive", label="Click adds")
                    undo = gr.Button("Undo click")
                    clear = gr.Button("Clear")
        build = gr.Button("3. Build scene graph", variant="primary")
        with gr.Row():
            overlay = gr.Video(label="Tracked subject and objects", autoplay=False)
            graph_plot = gr.Plot(label="Scene graph at the current frame")
        timeline = gr.Plot(label="Relations over time")
        entities = gr.Dataframe(headers=["id", "label", "origin", "first frame", "last frame"], label="Entities")
        downloads = gr.File(label="5. Export: scene graph JSON, COCO RLE masks, timeline HTML, overlay MP4",
                            file_count="multiple")
        # Numeric twin of the image click, for API clients (gradio_client) and tests.
        with gr.Row(visible=False):
            click_x, click_y = gr.Number(label="x"), gr.Number(label="y")
            click_positive = gr.Checkbox(value=True, label="positive")
            click_api = gr.Button("click")

        # -- wiring --------------------------------------------------------------------------------------
        video_in.upload(handlers.on_video, [video_in, state], [frame_image, frame_slider, limits, state])
        example_pick.input(handlers.on_example, [example_pick, state],
                           [video_in, frame_image, frame_slider, limits, state])
        frame_slider.release(handlers.on_frame, [frame_slider, state], [frame_image])  # frame_image
        frame_slider.release(handlers.on_cursor, [frame_slider, state], [timeline, graph_plot])
        frame_image.select(handlers.on_image_select, [mode, frame_slider, state], [frame_image, state])
        click_api.click(handlers.on_click_xy, [click_x, click_y, click_positive, frame_slider, state],
                        [frame_image, state], api_name="click")
        undo.click(handlers.on_undo, [state], [frame_image, state])
        clear.click(handlers.on_clear, [state], [frame_image, state])
        build.click(handlers.on_build, [state], [overlay, timeline, graph_plot, downloads, entities],
                    api_name="build", concurrency_limit=1)
    return demo
