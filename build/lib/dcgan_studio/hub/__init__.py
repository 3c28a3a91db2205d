"""Models on the Hugging Face Hub: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``, the model card, the
export of a checkpoint as a Hub folder, and ``resolve_checkpoint`` that turns ``user/name[@revision]`` into a file.

``Generator`` and ``Discriminator`` get the three methods from ``mixin.HubMixin`` (huggingface_hub's
``PyTorchModelHubMixin``). One module per idea, in two layers. Below ``models.py`` (they never import it; the
networks' classes come in as arguments): ``names`` (files, formats, tags), ``errors`` (repo ids, ``HubError``,
``hub_errors``), ``download`` (config.json and size-checked downloads), ``card`` (the model card) and ``mixin``
(the Hub methods: ``save_pretrained``'s files, validated loading). Above it: ``resolve`` (``resolve_checkpoint``,
``fetch`` with our networks' caps) and ``export`` (writing and pushing Hub folders).

A Hub folder (what ``save_pretrained`` and ``export_for_hub`` write, what ``from_pretrained`` and
``resolve_checkpoint`` read; one repo holds G, or G and D)::

    README.md                  the model card: front matter (library_name, tags, pipeline_tag, datasets, license),
                               the eval report's headline figures beside the real-vs-real reference, the sample
                               grid and the exact train command
    config.json                the ModelConfig (image_size, channels, nz, ngf, ndf) and "library_name": "dcgan-studio"
    model.safetensors          the generator, a DCGAN Studio generator file (format dcgan_studio.generator): it also
                               loads with ``load_generator`` and wherever a checkpoint file is taken
    discriminator.safetensors  the discriminator, when there is one (format dcgan_studio.discriminator)
    samples.png                ``export_for_hub``: 64 samples, the grid ``sample --n 64 --seed 0`` draws
    report.json                ``export_for_hub`` with a report: the eval report the card quotes

Downloads go through huggingface_hub's own code (``hf_hub_download``: its cache, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``,
tokens). Only safetensors are read, never a pickle: a weight file's size is checked against the architecture in
config.json before it is downloaded, then its header and every tensor's name, dtype and shape are checked before
the weights are used (``load_generator``, the checkpoint's own checks). Every failure is one ``HubError`` line that
says what to do.

The names load lazily (``lazy_loader``, as in ``checkpoint``): ``models.py`` imports ``hub.mixin``, and this package
must not import ``resolve`` or ``export`` (which import ``models.py``) before ``models.py`` is done.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["card", "download", "errors", "export", "mixin", "names", "resolve"],
    submod_attrs={
        "card": ["FIGURE_ROWS", "headline_figures", "hub_dataset_ids", "model_card"],
        "errors": [
            "HubError",
            "check_repo_id",
            "check_revision",
            "hub_errors",
            "is_repo_id",
            "parse_repo_id",
            "repo_label",
            "revision_problem",
            "split_revision",
        ],
        "export": ["export_for_hub", "push_folder", "read_report"],
        "download": ["HubFiles", "fetch_files", "read_config", "weight_bytes"],
        "mixin": ["HubMixin", "config_json", "load_pretrained", "save_weights"],
        "names": [
            "CARD_FILE",
            "CONFIG_FILE",
            "DEFAULT_LICENSE",
            "DISCRIMINATOR_FILE",
            "FORMAT_DISCRIMINATOR",
            "FORMAT_GENERATOR",
            "FORMAT_MODELS",
            "FORMAT_VERSION",
            "GENERATOR_FILE",
            "LIBRARY_NAME",
            "PIPELINE_TAG",
            "REPORT_FILE",
            "SAMPLES_FILE",
            "TAGS",
        ],
        "resolve": ["fetch", "resolve_checkpoint"],
    },
)
