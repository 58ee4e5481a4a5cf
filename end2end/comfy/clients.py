"""ComfyUI's three example API clients, as they talk to a server.

ComfyUI ships `script_examples/basic_api_example.py`, `websockets_api_example.py` and
`websockets_api_example_ws_images.py`. This file makes exactly their requests, with the same
libraries (`urllib` and `websocket-client`) and the same ways of reading the answers, with three
differences: Tinct's address, an `Authorization` header with a token, and a LoadImage ->
DDColor_Colorize -> SaveImage (or SaveImageWebsocket) graph in place of their Stable Diffusion one.

    python clients.py HOST:PORT TOKEN UPLOADED_IMAGE_NAME

Exits 0 when all three worked; prints one line per client.
"""
import json
import sys
import time
import urllib.parse
import urllib.request
import uuid

import websocket  # websocket-client

server_address, token, image_name = sys.argv[1:4]
# No wait in this test may hang: a socket read or an HTTP answer that takes a minute is a failure.
websocket.setdefaulttimeout(60)
import socket  # noqa: E402
socket.setdefaulttimeout(60)
headers = {"Authorization": "Bearer " + token}
PNG = b"\x89PNG\r\n\x1a\n"


def graph(output_id, output_class):
    g = {
        "1": {"class_type": "LoadImage", "inputs": {"image": image_name}},
        "2": {"class_type": "DDColor_Colorize",
              "inputs": {"image": ["1", 0], "model_input_size": 64, "checkpoint": "ddcolor_paper_tiny.pth"}},
        output_id: {"class_type": output_class, "inputs": {"images": ["2", 0]}},
    }
    if output_class == "SaveImage":
        g[output_id]["inputs"]["filename_prefix"] = "ComfyUI"
    return g


# --- basic_api_example.py: POST /prompt with urllib's default (form-encoded) content type.
def basic_api_example():
    p = {"prompt": graph("9", "SaveImage")}
    data = json.dumps(p).encode("utf-8")
    req = urllib.request.Request("http://{}/prompt".format(server_address), data=data, headers=headers)
    answer = json.loads(urllib.request.urlopen(req).read())
    # The example stops here; to check that the prompt ran, wait for it in the history.
    prompt_id = answer["prompt_id"]
    for _ in range(600):
        with urllib.request.urlopen(urllib.request.Request(
                "http://{}/history/{}".format(server_address, prompt_id), headers=headers)) as response:
            history = json.loads(response.read())
        if prompt_id in history:
            assert history[prompt_id]["status"]["status_str"] == "success", history
            return
        time.sleep(0.1)
    raise AssertionError("the basic example's prompt did not finish")


# --- websockets_api_example.py: own prompt id, wait for `executing` with node None, then
# /history/{id} and /view for every image.
def websockets_api_example():
    client_id = str(uuid.uuid4())

    def queue_prompt(prompt, prompt_id):
        p = {"prompt": prompt, "client_id": client_id, "prompt_id": prompt_id}
        data = json.dumps(p).encode("utf-8")
        req = urllib.request.Request("http://{}/prompt".format(server_address), data=data, headers=headers)
        urllib.request.urlopen(req).read()

    def get_image(filename, subfolder, folder_type):
        data = {"filename": filename, "subfolder": subfolder, "type": folder_type}
        url_values = urllib.parse.urlencode(data)
        req = urllib.request.Request("http://{}/view?{}".format(server_address, url_values), headers=headers)
        with urllib.request.urlopen(req) as response:
            return response.read()

    def get_history(prompt_id):
        req = urllib.request.Request("http://{}/history/{}".format(server_address, prompt_id), headers=headers)
        with urllib.request.urlopen(req) as response:
            return json.loads(response.read())

    def get_images(ws, prompt):
        prompt_id = str(uuid.uuid4())
        queue_prompt(prompt, prompt_id)
        output_images = {}
        while True:
            out = ws.recv()
            if isinstance(out, str):
                message = json.loads(out)
                if message["type"] == "executing":
                    data = message["data"]
                    if data["node"] is None and data["prompt_id"] == prompt_id:
                        break
            else:
                continue
        history = get_history(prompt_id)[prompt_id]
        for node_id in history["outputs"]:
            node_output = history["outputs"][node_id]
            images_output = []
            if "images" in node_output:
                for image in node_output["images"]:
                    images_output.append(get_image(image["filename"], image["subfolder"], image["type"]))
            output_images[node_id] = images_output
        return output_images

    ws = websocket.WebSocket()
    ws.connect("ws://{}/ws?clientId={}".format(server_address, client_id), header=headers)
    images = get_images(ws, graph("9", "SaveImage"))
    ws.close()
    assert list(images) == ["9"] and len(images["9"]) == 1, images.keys()
    assert images["9"][0].startswith(PNG)


# --- websockets_api_example_ws_images.py: the images arrive as binary frames while the
# SaveImageWebsocket node is executing; `out[8:]` is the PNG.
def websockets_api_example_ws_images():
    client_id = str(uuid.uuid4())

    def queue_prompt(prompt):
        p = {"prompt": prompt, "client_id": client_id}
        data = json.dumps(p).encode("utf-8")
        req = urllib.request.Request("http://{}/prompt".format(server_address), data=data, headers=headers)
        return json.loads(urllib.request.urlopen(req).read())

    def get_images(ws, prompt):
        prompt_id = queue_prompt(prompt)["prompt_id"]
        output_images = {}
        current_node = ""
        while True:
            out = ws.recv()
            if isinstance(out, str):
                message = json.loads(out)
                if message["type"] == "executing":
                    data = message["data"]
                    if data["prompt_id"] == prompt_id:
                        if data["node"] is None:
                            break
                        else:
                            current_node = data["node"]
            else:
                if current_node == "save_image_websocket_node":
                    images_output = output_images.get(current_node, [])
                    images_output.append(out[8:])
                    output_images[current_node] = images_output
        return output_images

    ws = websocket.WebSocket()
    ws.connect("ws://{}/ws?clientId={}".format(server_address, client_id), header=headers)
    images = get_images(ws, graph("save_image_websocket_node", "SaveImageWebsocket"))
    ws.close()
    frames = images.get("save_image_websocket_node", [])
    assert len(frames) == 1 and frames[0].startswith(PNG), [len(f) for f in frames]


failed = 0
for client in (basic_api_example, websockets_api_example, websockets_api_example_ws_images):
    try:
        client()
        print("ok", client.__name__)
    except Exception as error:  # report every client, then fail
        failed += 1
        print("FAILED", client.__name__, repr(error))
sys.exit(1 if failed else 0)
