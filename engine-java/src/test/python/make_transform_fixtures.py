#!/usr/bin/python3
# Writes the torchvision parity fixture for the Java transforms: an input image, fixed parameters and
# torchvision's outputs for each transform (tensor path on float images, antialiased bilinear resize), plus
# PIL-path resize outputs (uint8) and sampler statistics of torchvision's RandomResizedCrop.get_params.
# Output: engine-java/src/test/resources/data/transforms/{fixture.json, fixture.bin (little-endian float32)}.
# Needs Debian's python3-torch (1.13) and python3-torchvision (0.14). Run from anywhere:
#   /usr/bin/python3 engine-java/src/test/python/make_transform_fixtures.py
import json, math, os
import numpy as np
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "data", "transforms")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
rs = np.random.RandomState(1)

# A 37 x 53 RGB input with smooth structure, hard edges and noise, stored as uint8 HWC.
H, W = 37, 53
yy, xx = np.mgrid[0:H, 0:W]
base = np.stack([128 + 100 * np.sin(xx / 6.0), 128 + 100 * np.cos(yy / 5.0), (xx * 5 + yy * 3) % 256], axis=-1)
base[10:20, 30:45] = [250, 20, 60]
img_u8 = np.clip(base + rs.randint(-25, 26, size=base.shape), 0, 255).astype(np.uint8)
gray_u8 = img_u8[..., 1].copy()
x = torch.from_numpy(img_u8).permute(2, 0, 1).float() / 255.0      # ToTensor
xg = torch.from_numpy(gray_u8)[None].float() / 255.0

blob = bytearray()
cases = []

def put(arr):
    a = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    off = len(blob) // 4
    blob.extend(a.tobytes())
    return {"offset": off, "shape": list(a.shape)}

def case(name, op, params, out, input_name="rgb"):
    cases.append({"name": name, "op": op, "params": params, "input": input_name, "output": put(out.numpy() if torch.is_tensor(out) else out)})

for (t, l, h, w, oh, ow) in [(5, 7, 30, 41, 13, 17), (2, 3, 9, 11, 20, 24), (0, 0, 37, 53, 16, 60), (4, 0, 33, 53, 37, 53), (1, 2, 35, 50, 96, 112)]:
    case(f"resized_crop_{t}_{l}_{h}x{w}_to_{oh}x{ow}", "resized_crop", {"top": t, "left": l, "height": h, "width": w, "out_h": oh, "out_w": ow},
         F.resized_crop(x, t, l, h, w, [oh, ow], antialias=True))
    pil = Image.fromarray(img_u8).crop((l, t, l + w, t + h)).resize((ow, oh), Image.BILINEAR)
    case(f"pil_resized_crop_{t}_{l}_{h}x{w}_to_{oh}x{ow}", "pil_resized_crop", {"top": t, "left": l, "height": h, "width": w, "out_h": oh, "out_w": ow},
         torch.from_numpy(np.asarray(pil)).permute(2, 0, 1).float())
for size in [24, 60]:
    r = F.resize(x, size, antialias=True)
    case(f"resize_shorter_{size}", "resize_shorter", {"size": size}, r)
for (ch, cw) in [(20, 31), (36, 52), (41, 50)]:
    case(f"center_crop_{ch}x{cw}", "center_crop", {"height": ch, "width": cw}, F.center_crop(x, [ch, cw]))
case("hflip", "hflip", {}, F.hflip(x))
for f in [0.5, 1.3]:
    case(f"brightness_{f}", "brightness", {"factor": f}, F.adjust_brightness(x, f))
for f in [0.6, 1.4]:
    case(f"contrast_{f}", "contrast", {"factor": f}, F.adjust_contrast(x, f))
case("contrast_gray_1.3", "contrast", {"factor": 1.3}, F.adjust_contrast(xg, 1.3), "gray")
for f in [0.0, 1.35]:
    case(f"saturation_{f}", "saturation", {"factor": f}, F.adjust_saturation(x, f))
for f in [-0.1, 0.07, 0.5, -0.5]:
    case(f"hue_{f}", "hue", {"factor": f}, F.adjust_hue(x, f))
case("grayscale_3", "grayscale", {"channels": 3}, F.rgb_to_grayscale(x, 3))
case("grayscale_1", "grayscale", {"channels": 1}, F.rgb_to_grayscale(x, 1))
for (k, s) in [(5, 0.7), (23, 1.9), (3, 0.1)]:
    case(f"blur_{k}_{s}", "blur", {"kernel": k, "sigma": s}, F.gaussian_blur(x, [k, k], [s, s]))
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
case("normalize_imagenet", "normalize", {"mean": mean, "std": std}, F.normalize(x, mean, std))
# ColorJitter with fixed drawn parameters: apply in the drawn order, as ColorJitter.forward does.
for order, (b, c, s, hh) in [([2, 0, 3, 1], (1.21, 0.77, 1.33, -0.061)), ([3, 1, 0, 2], (0.63, 1.38, 0.6, 0.093))]:
    y = x
    for fn in order:
        y = [lambda z: F.adjust_brightness(z, b), lambda z: F.adjust_contrast(z, c),
             lambda z: F.adjust_saturation(z, s), lambda z: F.adjust_hue(z, hh)][fn](y)
    case(f"color_jitter_{order}", "color_jitter", {"order": order, "brightness": b, "contrast": c, "saturation": s, "hue": hh}, y)

# Sampler statistics of torchvision's own RandomResizedCrop.get_params (torch's generator, many draws).
N = 20000
samplers = []
for (ih, iw, scale) in [(375, 500, (0.08, 1.0)), (375, 500, (0.2, 1.0)), (100, 1000, (0.08, 1.0)), (1000, 90, (0.2, 1.0))]:
    dummy = torch.empty(1, ih, iw)
    ratio = (3.0 / 4.0, 4.0 / 3.0)
    rows = []
    fallbacks = 0
    for _ in range(N):
        i, j, h, w = T.RandomResizedCrop.get_params(dummy, scale, ratio)
        rows.append((i, j, h, w))
    a = np.array(rows, dtype=np.float64)
    # The fallback box is deterministic; count draws equal to it as fallbacks (a normal draw can coincide
    # with it only with negligible probability for these sizes).
    in_ratio = iw / ih
    if in_ratio < ratio[0]:
        fw, fh = iw, int(round(iw / ratio[0]))
    elif in_ratio > ratio[1]:
        fh, fw = ih, int(round(ih * ratio[1]))
    else:
        fw, fh = iw, ih
    fb = ((ih - fh) // 2, (iw - fw) // 2, fh, fw)
    fallbacks = int(np.sum(np.all(a == np.array(fb), axis=1)))
    area = a[:, 2] * a[:, 3] / (ih * iw)
    logr = np.log(a[:, 3] / a[:, 2])
    samplers.append({"height": ih, "width": iw, "scale": list(scale), "ratio": list(ratio), "draws": N,
                     "fallback_box": list(fb), "fallback_rate": fallbacks / N,
                     "mean": {"top": a[:, 0].mean(), "left": a[:, 1].mean(), "h": a[:, 2].mean(), "w": a[:, 3].mean(),
                              "area": area.mean(), "log_ratio": logr.mean()},
                     "var": {"top": a[:, 0].var(), "left": a[:, 1].var(), "h": a[:, 2].var(), "w": a[:, 3].var(),
                             "area": area.var(), "log_ratio": logr.var()}})

inputs = {"rgb": {"height": H, "width": W, "channels": 3, "u8_hwc": img_u8.flatten().tolist()},
          "gray": {"height": H, "width": W, "channels": 1, "u8_hwc": gray_u8.flatten().tolist()}}
meta = {"torch": torch.__version__, "torchvision": torchvision.__version__, "PIL": Image.__version__,
        "note": "tensor outputs are float CHW; pil_resized_crop outputs are uint8 values (0..255) as float CHW",
        "inputs": inputs, "cases": cases, "samplers": samplers}
with open(os.path.join(OUT, "fixture.json"), "w") as f:
    json.dump(meta, f, separators=(",", ":"))
with open(os.path.join(OUT, "fixture.bin"), "wb") as f:
    f.write(blob)
print(len(cases), "cases,", len(blob), "bytes of outputs;", len(samplers), "sampler tables")
