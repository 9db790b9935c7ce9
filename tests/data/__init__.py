"""nnlearn.data: data sets, IDX files, augmentation, preprocessing, photographed digits."""
