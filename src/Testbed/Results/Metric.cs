namespace Testbed.Results;

/// <summary>One measured quantity of a run, with its unit (<c>{"value": .., "unit": ..}</c> in the JSON).</summary>
public sealed record Metric(double Value, string Unit);
