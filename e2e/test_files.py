"""files over HTTP: an uploaded image is processed by the worker and gets a thumbnail."""

import io

from PIL import Image

from e2e.support import wait_until


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_image(user_api, width: int = 640, height: int = 480) -> dict:
    # The name says .bin: the type must come from the content.
    response = user_api.post("/api/upload/", files={"file": ("picture.bin", png(width, height))})
    assert response.status_code == 201, response.text
    return response.json()


def wait_processed(user_api, file_id: int, timeout: float = 60) -> dict:
    def finished():
        body = user_api.get(f"/api/files/{file_id}/").json()
        return body if body["status"] in ("done", "failed") else None

    return wait_until(finished, timeout=timeout, what=f"file {file_id} processed")


def test_uploaded_image_is_processed_with_a_thumbnail(user_api):
    created = upload_image(user_api)

    final = wait_processed(user_api, created["id"])
    thumbnail = user_api.get(f"/api/files/{created['id']}/thumbnail/")

    assert created["status"] in ("pending", "processing", "done")
    assert (final["status"], final["processed"], final["kind"]) == ("done", True, "image"), final
    assert final["content_type"] == "image/png"
    assert (final["result"]["width"], final["result"]["height"]) == (640, 480)
    # The API redirects to a short-lived signed link; requests followed it.
    assert [hop.status_code for hop in thumbnail.history] == [302]
    assert thumbnail.status_code == 200
    assert thumbnail.headers["Content-Disposition"].startswith("attachment;")
    # Pillow, not our API, says what the thumbnail is.
    image = Image.open(io.BytesIO(thumbnail.content))
    image.load()
    assert max(image.size) <= 256
    assert image.size[0] / image.size[1] == 640 / 480
