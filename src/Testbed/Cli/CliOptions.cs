using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Testbed.Cli;

/// <summary>
/// Options whose values the CLI reads strictly, so bad input is one line naming the option and the
/// value, never a .NET type name or a crash: numbers in the invariant culture only (<c>1,5</c> is
/// neither one and a half nor fifteen), never NaN or infinity, within their range; output paths that
/// are not empty and not a folder, in a folder that exists.
/// </summary>
internal static class CliOptions
{
    private const NumberStyles Decimal = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary>A number between <paramref name="min"/> and <paramref name="max"/>, <paramref name="fallback"/> when left out.</summary>
    public static Option<double> Number(string name, string description, double min, double max, double fallback) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = r => Read(r, name, min, max, s => double.TryParse(s, Decimal, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null, "a number"),
    };

    /// <summary>A whole number between <paramref name="min"/> and <paramref name="max"/>, or null when left out.</summary>
    public static Option<int?> Count(string name, string description, int min, int max) => new(name)
    {
        Description = description,
        CustomParser = r => (int?)Read(r, name, min, max, s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number"),
    };

    /// <summary>Any whole number, <paramref name="fallback"/> when left out.</summary>
    public static Option<int> Integer(string name, string description, int fallback) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = r => (int)Read(r, name, int.MinValue, int.MaxValue, s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null, "a whole number"),
    };

    /// <summary>
    /// A file the command writes when it ends: not empty, not a folder, in a folder that exists. Whether
    /// it can be written, and whether two options name the same file, <see cref="OutputFiles"/> checks
    /// before anything runs.
    /// </summary>
    public static Option<string?> OutputFile(string name, string description, bool required = false)
    {
        var option = new Option<string?>(name) { Description = description, Required = required };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is not { } path)
            {
                return;
            }

            if (string.IsNullOrWhiteSpace(path))
            {
                r.AddError($"{name}: the path is empty");
            }
            else if (Directory.Exists(path))
            {
                r.AddError($"{name}: {Path.GetFullPath(path)} is a folder, not a file");
            }
            else if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir && !Directory.Exists(dir))
            {
                r.AddError($"{name}: the folder {dir} does not exist");
            }
        });
        return option;
    }

    private static double Read(ArgumentResult result, string name, double min, double max, Func<string, double?> parse, string what)
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (parse(token) is not { } value)
        {
            result.AddError($"{name}: '{token}' is not {what}");
            return 0;
        }

        if (value < min || value > max)
        {
            result.AddError($"{name}: {token} is out of range ({min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)})");
            return 0;
        }

        return value;
    }
}
