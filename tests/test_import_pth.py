"""``import-pth``: a generator saved by pytorch/examples' dcgan/main.py gives the same images after conversion."""

import pytest
import torch
from support import cli
from torch import nn

from dcgan_studio.checkpoint import CheckpointError, import_pth, load_generator


class ExamplesGenerator(nn.Module):
    """The Generator of pytorch/examples dcgan/main.py (64x64), verbatim in structure."""

    def __init__(self, nz, ngf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


def _examples_checkpoint(tmp_path, nz=100, ngf=16, nc=3):
    torch.manual_seed(0)
    net = ExamplesGenerator(nz, ngf, nc)
    for m in net.modules():  # non-trivial weights and running statistics, as after training
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.normal_(1, 0.1)
    path = tmp_path / "netG_epoch_24.pth"
    torch.save(net.state_dict(), path)
    return net.eval(), path


def test_import_pth_gives_the_same_images_for_the_same_z(tmp_path):
    net, pth = _examples_checkpoint(tmp_path)
    r = cli("import-pth", str(pth), str(tmp_path / "G.safetensors"))
    assert r.returncode == 0, r.stderr
    G = load_generator(tmp_path / "G.safetensors")
    assert (G.config.image_size, G.config.channels, G.config.nz, G.config.ngf) == (64, 3, 100, 16)
    z = torch.randn(8, 100, 1, 1)
    with torch.no_grad():
        assert torch.allclose(net(z), G(z), atol=1e-5, rtol=0)


def test_import_pth_refuses_other_files(tmp_path):
    bad = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bad)
    with pytest.raises(CheckpointError, match="main.0.weight"):
        import_pth(bad, tmp_path / "x.safetensors")
    code = tmp_path / "code.pth"
    code.write_bytes(b"not a zip or pickle")
    r = cli("import-pth", str(code), str(tmp_path / "y.safetensors"))
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert not (tmp_path / "y.safetensors").exists()
