# Golden values for Engine.Imaging.Data.Dihedral: KAIR's augment_img modes 0..7 (as listed in
# the LUD-VAE/SeNM-VAE fact sheet: 0 identity, 1 flipud(rot90), 2 flipud, 3 rot90 k=3,
# 4 flipud(rot90 k=2), 5 rot90, 6 rot90 k=2, 7 flipud(rot90 k=3); np.rot90 is counter-clockwise)
# applied by numpy to an (H, W, C) = (3, 5, 3) array, plus the same for a 4x6 window of a 7x9 image.
# Run: /usr/bin/python3 gen_dihedral.py > dihedral.json   (numpy version recorded in the output)
import json
import numpy as np


def augment_img(img, mode):
    if mode == 0:
        return img
    if mode == 1:
        return np.flipud(np.rot90(img))
    if mode == 2:
        return np.flipud(img)
    if mode == 3:
        return np.rot90(img, k=3)
    if mode == 4:
        return np.flipud(np.rot90(img, k=2))
    if mode == 5:
        return np.rot90(img)
    if mode == 6:
        return np.rot90(img, k=2)
    if mode == 7:
        return np.flipud(np.rot90(img, k=3))


def case(h, w, top, left, ch, cw):
    # distinct values in [0, 1): v = (c*h*w + y*w + x) / (3*h*w)
    hwc = np.arange(h * w * 3, dtype=np.float64).reshape(3, h, w).transpose(1, 2, 0) / (3 * h * w)
    win = hwc[top:top + ch, left:left + cw]
    outs = []
    for m in range(8):
        o = np.ascontiguousarray(augment_img(win, m))
        outs.append({"mode": m, "height": o.shape[0], "width": o.shape[1],
                     "chw": o.transpose(2, 0, 1).reshape(-1).astype(np.float32).tolist()})
    return {"height": h, "width": w, "top": top, "left": left, "crop_height": ch, "crop_width": cw,
            "image_chw": hwc.transpose(2, 0, 1).reshape(-1).astype(np.float32).tolist(), "outputs": outs}


print(json.dumps({"numpy": np.__version__,
                  "cases": [case(3, 5, 0, 0, 3, 5), case(7, 9, 2, 3, 4, 6)]}))
