#!/usr/bin/python3
# PyTorch's side of the CPU-loader comparison: writes N JPEGs (500x375, ramp + noise) into an ImageFolder if
# the folder is empty, then times torchvision ImageFolder + DataLoader with the `compress` recipe
# (RandomResizedCrop(224, scale=(0.2, 1)) + flip + ToTensor + Normalize) and the given worker count.
# Usage: scripts/torch_cpu_loader.py FOLDER WORKERS [N=128] [EPOCHS=3]
import os, sys, time
import numpy as np
import torch
import torchvision.transforms as T
from torchvision.datasets import ImageFolder
from PIL import Image

folder, workers = sys.argv[1], int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 128
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
if not os.path.isdir(folder) or not os.listdir(folder):
    rs = np.random.RandomState(1)
    yy, xx = np.mgrid[0:375, 0:500]
    t = ((xx + yy) * 255 // 874)[..., None]
    for i in range(n):
        a, b = rs.randint(0, 256, 3), rs.randint(0, 256, 3)
        img = (a * t + b * (255 - t)) // 255 + rs.randint(0, 24, (375, 500, 3))
        d = os.path.join(folder, "c%d" % (i % 4))
        os.makedirs(d, exist_ok=True)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(d, "%d.jpg" % i), quality=75)
tf = T.Compose([T.RandomResizedCrop(224, scale=(0.2, 1.0)), T.RandomHorizontalFlip(), T.ToTensor(),
                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
loader = torch.utils.data.DataLoader(ImageFolder(folder, tf), batch_size=32, shuffle=True, num_workers=workers,
                                     persistent_workers=workers > 0)
for _ in loader: pass   # warm-up epoch (worker start, page cache)
t0, seen = time.perf_counter(), 0
for _ in range(epochs):
    for x, y in loader: seen += x.shape[0]
dt = time.perf_counter() - t0
print("torch DataLoader, %d workers: %d images in %.2f s = %.1f img/s" % (workers, seen, dt, seen / dt))
