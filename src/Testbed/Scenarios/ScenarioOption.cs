namespace Testbed.Scenarios;

/// <summary>
/// An option only one scenario takes (<c>--protocol on|off</c>, <c>--ratios 0.5,1</c>): its name
/// without dashes, what it does, its default, and a check that returns why a value is wrong (null
/// when it is fine).
/// </summary>
public sealed record ScenarioOption(string Name, string Description, string Default, Func<string, string?> Check)
{
    /// <summary>An option taking one of <paramref name="values"/>, or all of them (the default) to run each as its own variant.</summary>
    public static ScenarioOption OneOf(string name, string description, params string[] values) =>
        new(name, description, string.Join(',', values), v => Split(v).FirstOrDefault(x => !values.Contains(x)) is { } bad
            ? $"'{bad}' is not one of {string.Join(", ", values)}"
            : null);

    /// <summary>The values of a comma-separated <paramref name="value"/>, spaces around each ignored (every list option reads its value this way).</summary>
    public static string[] Split(string value) => value.Split(',', StringSplitOptions.TrimEntries);
}
