"""model2vec static models distilled from sentence-transformers folders (issue 26's baseline).

Runs in a separate environment: ``model2vec[distill]`` pins transformers < 5.4, below tinybert's floor.

    python -m venv /tmp/m2v && /tmp/m2v/bin/pip install torch==2.13.0 "model2vec[distill]" scikit-learn
    /tmp/m2v/bin/python bench/model2vec_distill.py TEACHER OUT [PCA_DIMS]
"""

import sys

from model2vec.distill import distill

teacher, out = sys.argv[1], sys.argv[2]
dims = int(sys.argv[3]) if len(sys.argv) > 3 else 256
distill(model_name=teacher, pca_dims=dims).save_pretrained(out)
print(f"{teacher} -> {out} (pca_dims {dims})")
