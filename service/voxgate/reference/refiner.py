"""Learned decoder stage: continuous envelope, gain and aperiodicity from a window of tokens.

A codebook lookup gives each semantic token the mean of its cluster; the refiner instead
predicts the features of the token's two 20 ms sub-frames (the `dec_table` row layout: cepstra
c0..c23 and aperiodicity) from the tokens around it, trained at build time on the corpus (with
its frequency-warped copies) to undo quantisation. Its targets (`fit.refiner_sequences`) are
the analysed gain and aperiodicity and the envelope shape as the tokens carry it (minus its
bounded local mean, plus the training mean), so it does not guess a speaker's long-term
envelope; the built decoder then applies `decoder.postfilter_rows`.

Per semantic token j the input is ``u_j = [dec_table row (50), linguistic info of its two
sub-frames (2 x [gain correction in nats, voiced flag, voiced log F0 - log 120 Hz])]``. The
network sees ``u_{j-2..j+2}`` (standardised; the sequence's ends repeated), two ReLU layers,
and adds its output to the lookup's row (with the gain correction on c0). Two semantic tokens
(80 ms) either side is the widest window that keeps the decoder and the vocoder together
within `decoder.DECODER_CONTEXT_GROUPS` = 2 groups of look-ahead and look-behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import dsp

WINDOW = 2  # semantic tokens either side
HIDDEN = 256
ROW = 2 * dsp.N_CEP + 2  # [cep_a(24), cep_b(24), ap_a, ap_b]
LING = 6
IN = ROW + LING
SQRT_MEL = float(np.sqrt(dsp.N_MEL))
LF0_REF = float(np.log(120.0))
AP_LOSS_WEIGHT = 6.0  # an aperiodicity error of 0.1 weighs like 0.6 nat of log-mel error
EPOCHS = 14
BATCH = 512


@dataclass
class RefinerParams:
    """Standardisation and the three dense layers (float32)."""

    mean: np.ndarray  # [IN]
    scale: np.ndarray  # [IN] 1 / std
    w1: np.ndarray  # [(2 WINDOW + 1) IN, HIDDEN]
    b1: np.ndarray
    w2: np.ndarray  # [HIDDEN, HIDDEN]
    b2: np.ndarray
    w3: np.ndarray  # [HIDDEN, ROW]
    b3: np.ndarray

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"refiner_{k}": getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_arrays(cls, inits: dict[str, np.ndarray]) -> RefinerParams | None:
        if "refiner_w1" not in inits:
            return None
        return cls(**{k: inits[f"refiner_{k}"] for k in cls.__dataclass_fields__})


def f0_levels(ling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linguistic ids -> (voiced flag, log F0 of the level) as float32 (the decoder's too)."""
    fq = ling // dsp.N_GAIN
    voiced = (fq < dsp.N_F0).astype(np.float32)
    step = np.float32(np.log(dsp.F0_MAX / dsp.F0_MIN) / (dsp.N_F0 - 1))
    lf = np.float32(np.log(dsp.F0_MIN)) + np.minimum(fq, dsp.N_F0 - 1).astype(np.float32) * step
    return voiced, lf


def ling_inputs(ling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[B, 2G] linguistic ids -> per sub-frame [B, 6G, 3] inputs and gain correction (nats)."""
    gq = (ling % dsp.N_GAIN).astype(np.float32) - np.float32(dsp.N_GAIN // 2)
    gcorr = gq * np.float32(dsp.GAIN_STEP)
    voiced, lf = f0_levels(ling)
    lfv = (lf - np.float32(LF0_REF)) * voiced
    per = np.stack([gcorr, voiced, lfv], -1)  # [B, 2G, 3]
    return np.repeat(per, 3, axis=1), np.repeat(gcorr, 3, axis=1)


def token_inputs(
    ling: np.ndarray, sem: np.ndarray, dec_table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(u [B, 3G, IN], base [B, 3G, ROW]): refiner inputs and the lookup's rows."""
    row = dec_table[sem].astype(np.float32)
    b, n = sem.shape
    per, gcorr = ling_inputs(ling)
    corr = (gcorr * np.float32(SQRT_MEL)).reshape(b, n, 2)
    base = row.copy()
    base[..., 0] += corr[..., 0]
    base[..., dsp.N_CEP] += corr[..., 1]
    u = np.concatenate([row, per.reshape(b, n, LING)], -1)
    return u, base


def windows(x: np.ndarray) -> np.ndarray:
    """[B, N, D] -> [B, N, (2 WINDOW + 1) D]: each step with its neighbours, ends repeated."""
    e = np.concatenate([x[:, :1]] * WINDOW + [x] + [x[:, -1:]] * WINDOW, axis=1)
    n = x.shape[1]
    return np.concatenate([e[:, k : k + n] for k in range(2 * WINDOW + 1)], -1)


def refine(u: np.ndarray, base: np.ndarray, prm: RefinerParams) -> np.ndarray:
    """Numpy reference of the graph: [B, 3G, IN], [B, 3G, ROW] -> refined rows [B, 3G, ROW]."""
    x = windows((u - prm.mean) * prm.scale)
    h = np.maximum(x @ prm.w1 + prm.b1, np.float32(0))
    h = np.maximum(h @ prm.w2 + prm.b2, np.float32(0))
    return (base + (h @ prm.w3 + prm.b3)).astype(np.float32)


def targets(an: dict[str, np.ndarray], first: int, n_sem: int) -> np.ndarray:
    """Analysed rows [n_sem, ROW] (cep and aperiodicity of sub-frames first.. in pairs)."""
    cep = an["cep"][0, first : first + 2 * n_sem].reshape(n_sem, 2 * dsp.N_CEP)
    ap = an["ap"][0, first : first + 2 * n_sem].reshape(n_sem, 2)
    return np.concatenate([cep, ap], -1).astype(np.float32)


def train(
    seqs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    dec_table: np.ndarray,
    seed: int,
    epochs: int = EPOCHS,
    log: Callable[[str], None] = print,
) -> RefinerParams:
    """Fit the refiner on (linguistic [2G], semantic [3G], analysed rows [3G, ROW]) sequences.

    Loss: squared error of c0..c23 (= log-mel error summed over the 40 bands, the DCT being
    orthonormal) plus weighted aperiodicity error, per sub-frame weighted by speech level so
    that silence floors do not dominate. Deterministic for a seed on a given machine (torch,
    2 threads).
    """
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(seed)
    us, bases, ys, idx = [], [], [], []
    off = 0
    for ling, sem, y in seqs:
        u, base = token_inputs(ling[None], sem[None], dec_table)
        n = u.shape[1]
        pad = np.concatenate([u[0, :1]] * WINDOW + [u[0]] + [u[0, -1:]] * WINDOW)
        us.append(pad)
        idx.append(off + np.arange(n)[:, None] + np.arange(2 * WINDOW + 1)[None, :])
        off += len(pad)
        bases.append(base[0])
        ys.append(y)
    u_all = np.concatenate(us)
    mean = u_all.mean(0).astype(np.float32)
    scale = (1.0 / np.maximum(u_all.std(0), 1e-3)).astype(np.float32)
    xu = torch.from_numpy(((u_all - mean) * scale).astype(np.float32))
    ix = torch.from_numpy(np.concatenate(idx))
    base_t = torch.from_numpy(np.concatenate(bases))
    y_t = torch.from_numpy(np.concatenate(ys))
    lw = np.ones(ROW, np.float32)
    lw[2 * dsp.N_CEP :] = AP_LOSS_WEIGHT**2
    # Speech weight per sub-frame from the target's level (c0 / sqrt(40) = mean log-mel power).
    lvl = y_t[:, [0, dsp.N_CEP]] / SQRT_MEL
    sw = torch.clamp((lvl - dsp.SILENCE_LOGPOW) * 0.25, 0.1, 1.0)
    wt = torch.cat([sw[:, :1].expand(-1, dsp.N_CEP), sw[:, 1:].expand(-1, dsp.N_CEP), sw], 1)
    wt = wt * torch.from_numpy(lw)
    n = len(ix)
    net = torch.nn.Sequential(
        torch.nn.Linear((2 * WINDOW + 1) * IN, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Linear(HIDDEN, ROW),
    )
    with torch.no_grad():  # start from the lookup
        net[4].weight.zero_()
        net[4].bias.zero_()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    steps = epochs * (-(-n // BATCH))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)

    def loss_of(sel: torch.Tensor) -> torch.Tensor:
        x = xu[ix[sel]].reshape(len(sel), -1)
        err = base_t[sel] + net(x) - y_t[sel]
        return (err * err * wt[sel]).sum(1).mean()

    with torch.no_grad():
        base_loss = ((base_t - y_t) ** 2 * wt).sum(1).mean().item()
    log(f"refiner: {n} tokens, lookup loss {base_loss:.2f}")
    for ep in range(epochs):
        perm = torch.randperm(n, generator=gen)
        tot = 0.0
        for a in range(0, n, BATCH):
            sel = perm[a : a + BATCH]
            loss = loss_of(sel)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(sel)
        log(f"refiner: epoch {ep + 1}/{epochs} loss {tot / n:.2f}")
    lin = [net[0], net[2], net[4]]
    w = [m.weight.detach().numpy().T.astype(np.float32).copy() for m in lin]
    b = [m.bias.detach().numpy().astype(np.float32).copy() for m in lin]
    return RefinerParams(mean, scale, w[0], b[0], w[1], b[1], w[2], b[2])
