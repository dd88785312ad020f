#!/usr/bin/env python3
"""The 'best-channel' baseline (MODEL.md section 7) as an airlora policy process, standard library only.

airlora starts this once per run. Each slot it writes one JSON line on stdin,
    {"slot": t, "instance": {...}}      (the per-slot instance of docs/INTERFACE.md)
and reads one JSON line back, the decision:
    {"admitted": ["d3", "d0"], "bandwidth": {"d3": 0.6, "d0": 0.4}}
or, as here, "bandwidth": "earliest-finish" to have the band split so that the admitted devices all
finish together as early as possible (the built-in baseline's split); then the order of "admitted"
is this policy's ranking. Anything printed on stdout must be decisions: debug output goes to stderr
(airlora keeps it in the run folder, policy-stderr.log).

Devices in decreasing order of channel gain, each added if every chosen device can still meet the
deadline T_max with the band (minimum fractions at the new group size), up to COUNT devices.

Scenario: "scheduler": {"policy": {"command": ["python3", "best_channel.py", "3"]}}
(the path is relative to the scenario file's folder; the argument is the group size).
"""
import json
import math
import sys

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 10
GUARD = 1e-12          # T_max is met with this relative margin, as by the built-in policies
BAND = 1 - 1e-12       # the band the minimum fractions must fit in


def latency_parts(inst, d, n0):
    """What one device needs, MODEL.md section 4: fixed time, uplink and downlink bits per round."""
    p = inst["payloadBits"]
    tau = inst["localIterations"]
    fixed_s = tau * d["deviceFlopsPerIteration"] / (d["cpuHz"] * d["flopsPerCycle"])
    up_bits = tau * (p["activations"] + p["gradients"]) + p["head"]
    down_bits = tau * p["features"] + p["head"]
    dl_eff = math.log2(1 + inst["serverPowerW"] * d["gain"] / (inst["downlinkBandwidthHz"] * n0))
    return fixed_s, up_bits, down_bits, dl_eff


def minimum_fraction(inst, d, n, n0):
    """Smallest bandwidth fraction with which device d meets T_max among n admitted devices, or None."""
    if d.get("available") is False or d["gain"] <= 0:
        return None
    fixed_s, up_bits, down_bits, dl_eff = latency_parts(inst, d, n0)
    server_s = inst["localIterations"] * inst["serverFlopsPerIteration"] / inst["serverFlops"] * n
    slack = inst["deadlineS"] * (1 - GUARD) - fixed_s - server_s
    a = d["powerW"] * d["gain"] / (inst["bandwidthHz"] * n0)  # SNR over the whole band

    def airtime(beta):
        up = up_bits / (beta * inst["bandwidthHz"] * math.log2(1 + a / beta))
        return up + down_bits / (beta * inst["downlinkBandwidthHz"] * dl_eff)

    if slack <= 0 or dl_eff <= 0 or airtime(1.0) > slack:
        return None
    lo, hi = 0.0, 1.0  # airtime decreases with beta: bisection on the feasible side
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid > 0 and airtime(mid) <= slack:
            hi = mid
        else:
            lo = mid
    return hi


def decide(inst):
    n0 = 10 ** ((inst["noisePsdDbmPerHz"] + inst["noiseFigureDb"] - 30) / 10)  # noise PSD, W/Hz
    devices = inst["devices"]
    order = sorted(range(len(devices)), key=lambda k: (-devices[k]["gain"], k))
    chosen = []
    for k in order:
        if len(chosen) >= COUNT:
            break
        group = chosen + [k]
        fractions = [minimum_fraction(inst, devices[j], len(group), n0) for j in group]
        if None not in fractions and sum(fractions) <= BAND:
            chosen = group
    return {"admitted": [devices[k]["id"] for k in chosen], "bandwidth": "earliest-finish"}


if __name__ == "__main__":
    for line in sys.stdin:
        message = json.loads(line)
        print(json.dumps(decide(message["instance"])), flush=True)
