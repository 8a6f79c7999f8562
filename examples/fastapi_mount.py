"""chatrec inside an existing FastAPI service: `uvicorn examples.fastapi_mount:app --port 8000`,
then open http://127.0.0.1:8000/chatrec/ (the service's own routes keep working)."""
from fastapi import FastAPI

from chatrec.app.web import mount

app = FastAPI()


@app.get("/health")
def health() -> dict:
    return {"ok": True}


app = mount(app, path="/chatrec")
