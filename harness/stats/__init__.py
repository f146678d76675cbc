"""Statistics, pure numpy/scipy: intervals (Wilson, bootstrap), AlpacaEval win rates,
length-controlled win rate, Bradley-Terry, and the statistics of a comparison."""
