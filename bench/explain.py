"""Bench of the Explain page: p50 on one drawing with one torch thread, as in the class server.

Targets on the classroom's 2-core CPU: all four maps <= 300 ms, the FGSM epsilon search
<= 300 ms, PGD <= 1 s, the dream < 10 s.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from bench.timing import p50_ms

ROOT = Path(__file__).resolve().parents[1]
DRAWING = ROOT / "tests" / "data" / "drawings" / "7_00.png"


def bench_explain() -> dict:
    from streamlit.testing.v1 import AppTest

    from cnndemo.core import checkpoints, data, preprocess
    from cnndemo.lessons import explain as E
    from cnndemo.lessons import explain_robust as R

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # this process only: the server runs every request with one thread
    try:
        model = checkpoints.load(checkpoints.shipped_path("mnist")).model
        image = preprocess.preprocess(preprocess.load_image(DRAWING)).image
        x = torch.as_tensor(image)[None, None]
        maps = E.explain(model, image)
        out = {
            "maps_all_four_ms_p50": p50_ms(lambda: E.explain(model, image), repeats=20, warmup=3),
            "saliency_ms_p50": p50_ms(lambda: E.saliency(model, x, 7), repeats=20),
            "integrated_gradients_ms_p50": p50_ms(lambda: E.integrated_gradients(model, x, 7), repeats=20),
            "grad_cam_with_private_copy_ms_p50": p50_ms(lambda: E.grad_cam(model, x, 7), repeats=20),
            "occlusion_patch4_ms_p50": p50_ms(lambda: E.occlusion(model, x, 7), repeats=20),
            "deletion_curves_ms_p50": p50_ms(
                lambda: E.deletion_curve(model, image, 7, maps.by_method()), repeats=20),
            "fgsm_epsilon_search_ms_p50": p50_ms(lambda: R.fgsm_smallest_epsilon(model, image), repeats=20),
            "pgd_untargeted_linf_ms_p50": p50_ms(lambda: R.pgd(model, image, None, "Linf", 0.2), repeats=10),
            "pgd_targeted_3_linf_ms_p50": p50_ms(lambda: R.pgd(model, image, 3, "Linf", 0.2), repeats=10),
            "pgd_targeted_3_l2_ms_p50": p50_ms(lambda: R.pgd(model, image, 3, "L2", 3.0, 0.02), repeats=10),
            "dream_class_160_steps_ms_p50": p50_ms(lambda: R.dream(model, 3), repeats=5, warmup=1),
        }
        ds = data.load("mnist")
        t0 = time.perf_counter()
        bank = E.features(model, ds.train_x[:6000])
        out["neighbour_bank_build_s"] = round(time.perf_counter() - t0, 3)
        out["neighbour_bank_images"] = len(bank)
        out["nearest_8_ms_p50"] = p50_ms(lambda: E.nearest(model, image, bank), repeats=20)
        at = AppTest.from_file(str(ROOT / "lessons" / "explain.py"), default_timeout=180)
        at.session_state["last_drawing"] = image
        t0 = time.perf_counter()
        at.run()
        out["page_cold_s"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        at.run()
        out["page_rerun_cached_s"] = round(time.perf_counter() - t0, 3)
        out["page_ok"] = not at.exception
    finally:
        torch.set_num_threads(threads)
    return out
