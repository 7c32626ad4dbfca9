"""`python -m cnndemo bench --gpu` refuses clearly where there is no CUDA (it has no CPU stand-in)."""
import pytest
import torch

from cnndemo.cli.main import main


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the bench would run")
def test_bench_gpu_refuses_without_cuda(capsys):
    assert main(["bench", "--gpu"]) == 2
    out = capsys.readouterr()
    assert "needs an NVIDIA GPU with CUDA" in out.err
    assert out.out == ""
