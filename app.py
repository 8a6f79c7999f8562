"""chatrec web app: `python app.py` serves on 127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
override). This is also what Hugging Face Spaces runs. All logic lives in the chatrec package."""
from chatrec.app.web import launch

if __name__ == "__main__":
    launch()
