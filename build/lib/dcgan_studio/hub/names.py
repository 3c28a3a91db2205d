"""The names a Hub folder uses: its files, the checkpoint formats, the card's tags and the size allowances."""

LIBRARY_NAME = "dcgan-studio"
TAGS = ("dcgan", "gan", "unconditional-image-generation", "pytorch")
PIPELINE_TAG = "unconditional-image-generation"
DEFAULT_LICENSE = "mit"  # the project's; pass another for weights under other terms
PAPER_URL = "https://arxiv.org/abs/1511.06434"

CONFIG_FILE = "config.json"
GENERATOR_FILE = "model.safetensors"  # huggingface_hub's usual name: the file people look for first
DISCRIMINATOR_FILE = "discriminator.safetensors"
SAMPLES_FILE = "samples.png"
REPORT_FILE = "report.json"
CARD_FILE = "README.md"

# The checkpoint formats (see the checkpoint package's docstring): model.safetensors is a plain generator file; the
# discriminator file exists only in Hub folders, and resolve_checkpoint turns G + D into a local "models" file.
FORMAT_GENERATOR = "dcgan_studio.generator"
FORMAT_MODELS = "dcgan_studio.models"
FORMAT_DISCRIMINATOR = "dcgan_studio.discriminator"
FORMAT_VERSION = "1"

MAX_CONFIG_BYTES = 64 * 1024
HEADER_ALLOWANCE = 1024**2  # a weight file may exceed its tensors' bytes by this much (header and metadata)
N_SAMPLES = 64

# Hub ids of the datasets the trainer knows by name (datasets: in the front matter); others are named in the text only
HUB_DATASETS = {"mnist": "ylecun/mnist", "fashionmnist": "zalando-datasets/fashion_mnist", "cifar10": "uoft-cs/cifar10"}
