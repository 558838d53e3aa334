"""``python -m primero_sim`` runs the standalone simulator."""

from primero_sim.cli import main

if __name__ == "__main__":
    main()
