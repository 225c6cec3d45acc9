"""valuechains: IT value chains ("IV-waardeketens"), their teams and each owner's investment split."""
