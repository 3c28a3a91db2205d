"""The paper's architecture rules, checked on the modules themselves."""

import pytest
import torch
from torch import nn

from dcgan_studio.config import ConfigError, ModelConfig
from dcgan_studio.models import build_models


def layers(model):
    return list(model.main)


@pytest.mark.parametrize("size,stages", [(32, 3), (64, 4), (128, 5)])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_depth_follow_image_size(size, stages, channels):
    cfg = ModelConfig(image_size=size, channels=channels, nz=100, ngf=8, ndf=8)
    G, D = build_models(cfg)
    z = torch.randn(3, 100, 1, 1)
    x = G(z)
    assert x.shape == (3, channels, size, size)
    assert D(x).shape == (3,)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in G.modules()) == stages + 1
    assert sum(isinstance(m, nn.Conv2d) for m in D.modules()) == stages + 1
    assert G(z.flatten(1)).shape == x.shape  # (N, nz) is accepted too


def test_no_pooling_and_no_fully_connected_layers():
    G, D = build_models(ModelConfig(image_size=64, channels=3, ngf=8, ndf=8))
    for model in (G, D):
        for m in model.modules():
            assert not isinstance(
                m, (nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
            )
    # z is projected by a 4x4 transposed conv from 1x1; D's last 4x4 map becomes one logit by a 4x4 conv
    first, last = G.main[0], D.main[-1]
    assert isinstance(first, nn.ConvTranspose2d) and first.kernel_size == (4, 4) and first.stride == (1, 1)
    assert isinstance(last, nn.Conv2d) and last.kernel_size == (4, 4) and last.out_channels == 1


def test_strided_convolutions_do_the_resampling():
    G, D = build_models(ModelConfig(image_size=64, ngf=8, ndf=8))
    assert all(m.stride == (2, 2) for m in layers(G)[1:] if isinstance(m, nn.ConvTranspose2d))
    assert all(m.stride == (2, 2) for m in layers(D)[:-1] if isinstance(m, nn.Conv2d))


def test_batch_norm_everywhere_except_g_output_and_d_input():
    G, D = build_models(ModelConfig(image_size=64, ngf=8, ndf=8))
    g, d = layers(G), layers(D)
    g_convs = [i for i, m in enumerate(g) if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [i for i, m in enumerate(d) if isinstance(m, nn.Conv2d)]
    for i in g_convs[:-1]:
        assert isinstance(g[i + 1], nn.BatchNorm2d)
    assert isinstance(g[g_convs[-1] + 1], nn.Tanh)  # output: no batch norm
    assert isinstance(d[d_convs[0] + 1], nn.LeakyReLU)  # input layer: no batch norm
    for i in d_convs[1:-1]:
        assert isinstance(d[i + 1], nn.BatchNorm2d)
    assert d_convs[-1] == len(d) - 1  # D ends in a conv: logits, no Sigmoid
    assert not any(isinstance(m, nn.Sigmoid) for m in D.modules())


def test_activations_relu_tanh_in_g_leaky_relu_in_d():
    G, D = build_models(ModelConfig(image_size=32, ngf=8, ndf=8))
    g_acts = [m for m in G.modules() if isinstance(m, (nn.ReLU, nn.Tanh, nn.LeakyReLU))]
    assert all(isinstance(m, nn.ReLU) for m in g_acts[:-1]) and isinstance(g_acts[-1], nn.Tanh)
    d_acts = [m for m in D.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh))]
    assert d_acts and all(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in d_acts)


def test_weight_init_follows_the_paper():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(image_size=64, channels=3, ngf=64, ndf=64))
    convs = torch.cat(
        [
            m.weight.flatten()
            for model in (G, D)
            for m in model.modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
        ]
    )
    gammas = torch.cat([m.weight for model in (G, D) for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    betas = torch.cat([m.bias for model in (G, D) for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(convs.mean().item()) < 1e-3 and abs(convs.std().item() - 0.02) < 1e-3
    assert abs(gammas.mean().item() - 1.0) < 5e-3 and abs(gammas.std().item() - 0.02) < 5e-3
    assert torch.count_nonzero(betas) == 0
    assert all(
        m.bias is None for model in (G, D) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    )


def test_generator_output_is_in_tanh_range_and_d_gives_logits():
    G, D = build_models(ModelConfig(ngf=8, ndf=8))
    x = G(torch.randn(16, 100) * 10)
    assert x.min() >= -1 and x.max() <= 1
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.mul_(50)
    logits = D(x)
    assert (logits.abs() > 1).any()  # not squashed to probabilities


@pytest.mark.parametrize("bad", [dict(image_size=48), dict(channels=2), dict(nz=0), dict(ngf=-1)])
def test_config_rejects_unsupported_values(bad):
    with pytest.raises(ConfigError):
        ModelConfig(**bad)


def test_config_json_round_trip():
    cfg = ModelConfig(image_size=64, channels=3, nz=64, ngf=16, ndf=32)
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    assert ModelConfig.from_dict({**cfg.to_dict(), "future_field": 1}) == cfg
