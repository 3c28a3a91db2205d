"""The dataset picker the Train and Evaluate tabs share: digits (offline), the torchvision sets whose files are
under ./data, a zip upload and (local Studio only) a folder on the server."""

from __future__ import annotations

import gradio as gr

from ..dataset_names import available_torchvision
from .studio import Studio

ZIP_CHOICE = "zip upload"
FOLDER_CHOICE = "folder path"


def dataset_choices(studio: Studio) -> list[str]:
    """digits (offline), the torchvision sets whose files are under ./data, a zip upload, a server folder."""
    out = ["digits", *available_torchvision(studio.data_dir), ZIP_CHOICE]
    if studio.limits.allow_folder_path:
        out.append(FOLDER_CHOICE)
    return out


def build_dataset_picker(studio: Studio, **dropdown) -> tuple[gr.Dropdown, gr.File, gr.Textbox]:
    """(dataset dropdown, zip upload, folder box); the upload and the box show only when their choice is picked."""
    dataset = gr.Dropdown(dataset_choices(studio), value="digits", **dropdown)
    zip_file = gr.File(label="Zip of images", file_types=[".zip"], type="filepath", visible=False)
    folder = gr.Textbox(label="Folder of images on the server", visible=False)

    def show_source(choice):
        return gr.update(visible=choice == ZIP_CHOICE), gr.update(visible=choice == FOLDER_CHOICE)

    dataset.change(show_source, dataset, [zip_file, folder], api_visibility="private", queue=False)
    return dataset, zip_file, folder
