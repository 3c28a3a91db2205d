"""The latent space helpers: one nz check for every place a z meets a generator."""

import pytest

from dcgan_studio.latent import check_nz


def test_check_nz_accepts_a_fitting_z_and_names_both_sizes_otherwise():
    check_nz(100, 100)
    with pytest.raises(ValueError, match=r"sample 'a' has nz=64 but this generator takes nz=100"):
        check_nz(64, 100, what="sample 'a'")
