# The Hugging Face Space (README front matter: sdk docker): the README's set-up command in a container.
# Read by https://huggingface.co/docs/hub/spaces-sdks-docker; the Space serves port 7860.
FROM python:3.11-slim

RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860
WORKDIR $HOME/app

# CPU wheels of torch (the Space has no GPU): PyTorch's CPU index beside PyPI; then sam2 without its CUDA
# extension, its torchvision dependency and a second torch to build against (see requirements.txt).
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --user --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt \
    && SAM2_BUILD_CUDA=0 pip install --no-cache-dir --user --no-build-isolation --no-deps sam2==1.1.0

COPY --chown=user . .
# The SAM 2.1 tiny checkpoint is downloaded from the hub on first start (click2graph.weights); without the hub the
# app runs the classic tracker and says so.
CMD ["python", "app.py"]
