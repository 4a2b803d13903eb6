#!/usr/bin/python3
# Writes small image files of the awkward kinds ImageNet-style data holds (CMYK / YCCK / progressive /
# gray JPEG, palette / gray+alpha / RGBA / 16-bit PNG, BMP, a PNG named .JPEG, a non-image named .jpg)
# and what PIL decodes from each (img.convert("RGB") or "L": torchvision's loader), so the Java reader is
# tested against PIL. Run from the repo root:  /usr/bin/python3 engine-java/src/test/python/make_image_fixtures.py
# Needs python3-pil (Debian). ycck.jpg is not written here: PIL cannot encode YCCK. It was written once by
# the JDK JPEG writer from cmyk_adobe.jpg's raw raster with the Adobe transform set to 2, i.e. the raw
# samples (255,0,255,255) / (0,255,255,191) are stored as YCCK; this script only records PIL's decode of it.
import json, os
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "data", "images")
os.makedirs(OUT, exist_ok=True)
W, H = 24, 16

def gradient_rgb():
    im = Image.new("RGB", (W, H))
    im.putdata([((x * 255) // (W - 1), (y * 255) // (H - 1), ((x + y) * 7) % 256) for y in range(H) for x in range(W)])
    return im

def blocks_cmyk():
    # Flat 8x8-aligned blocks so JPEG loses little and the colour conversion is what the test sees.
    im = Image.new("CMYK", (32, 16), (0, 255, 0, 0))
    im.paste((255, 0, 0, 64), (16, 0, 32, 16))
    return im

expected = {}

def record(name, mode, note=""):
    im = Image.open(os.path.join(OUT, name))
    conv = im.convert(mode)
    expected[name] = {"pil_mode": im.mode, "mode": mode, "width": conv.width, "height": conv.height,
                      "pixels": list(conv.tobytes()), "note": note}

blocks_cmyk().save(os.path.join(OUT, "cmyk_adobe.jpg"), quality=95)
record("cmyk_adobe.jpg", "RGB", "PIL writes CMYK JPEGs Adobe-inverted with APP14 transform 0")
if os.path.exists(os.path.join(OUT, "ycck.jpg")):
    record("ycck.jpg", "RGB", "YCCK (Adobe transform 2)")
gradient_rgb().save(os.path.join(OUT, "progressive.jpg"), quality=95, progressive=True)
record("progressive.jpg", "RGB")
gradient_rgb().save(os.path.join(OUT, "baseline.jpg"), quality=95)
record("baseline.jpg", "RGB")
gradient_rgb().convert("L").save(os.path.join(OUT, "gray.jpg"), quality=95)
record("gray.jpg", "L")
gradient_rgb().quantize(colors=16).save(os.path.join(OUT, "palette.png"))
record("palette.png", "RGB")
la = Image.merge("LA", (gradient_rgb().convert("L"), Image.new("L", (W, H), 77)))
la.save(os.path.join(OUT, "gray_alpha.png"))
record("gray_alpha.png", "L", "alpha dropped, not composited")
rgba = gradient_rgb().convert("RGBA")
rgba.putalpha(33)
rgba.save(os.path.join(OUT, "rgba.png"))
record("rgba.png", "RGB", "alpha dropped, not composited")
gradient_rgb().save(os.path.join(OUT, "rgb24.bmp"))
record("rgb24.bmp", "RGB")
gradient_rgb().save(os.path.join(OUT, "png_named.JPEG"), format="PNG")
record("png_named.JPEG", "RGB", "a PNG with a JPEG name (ImageNet has one)")
# 16-bit gray: PIL's convert() of mode I;16 clips at 255 (a quirk we do not copy); we keep the high byte.
g16 = Image.new("I;16", (W, H))
g16.putdata([(x * 2731 + y * 97) % 65536 for y in range(H) for x in range(W)])
g16.save(os.path.join(OUT, "gray16.png"))
expected["gray16.png"] = {"pil_mode": "I;16", "mode": "L", "width": W, "height": H,
                          "pixels": [((x * 2731 + y * 97) % 65536) >> 8 for y in range(H) for x in range(W)],
                          "note": "expected = high byte of each 16-bit sample (PIL would clip to 255)"}
with open(os.path.join(OUT, "not_an_image.jpg"), "w") as f:
    f.write("this is a text file with an image name\n")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, separators=(",", ":"))
print("wrote", sorted(os.listdir(OUT)))
