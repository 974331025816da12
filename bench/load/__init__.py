"""The load client's steps, run by bench/loadgen.py in the generator's process."""
