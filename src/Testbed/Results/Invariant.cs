namespace Testbed.Results;

/// <summary>
/// A property a run checks, whether it held, and what was seen. A baseline that reproduces a known
/// bug (legacy <c>DoSwapPage</c>, trylock, owner filtering off, the protocol off) checks that the
/// bug shows — its invariant is "reproduced", so the check is shown to be able to fail.
/// </summary>
public sealed record Invariant(string Name, bool Held, string Detail);
