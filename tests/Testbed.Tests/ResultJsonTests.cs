using System.Globalization;
using System.Text.Json.Nodes;
using Testbed.Results;

namespace Testbed.Tests;

/// <summary>The testbed.result/1 reader and writer: a round trip keeps everything; anything else is one clear error.</summary>
public sealed class ResultJsonTests
{
    internal static ResultDocument Sample() => new(
        "run",
        new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero),
        1.5,
        new AcceleratorInfo("cpu", "Cpu", "CPU (2 cores)", "coherent"),
        new EnvironmentInfo("Linux", "x64", ".NET 10", "abc"),
        [new ScenarioResult("pingpong", new Dictionary<string, string> { ["pages"] = "4" },
        [
            new PolicyRun
            {
                Name = "migrate",
                Policy = "migrate",
                Metrics = new Dictionary<string, Metric> { ["migrations"] = new(12, "count"), ["useful_ops_per_s"] = new(1.5e6, "ops/s") },
                Invariants = [new Invariant("totals_exact", true, "all words")],
                Timeline = new ResidencyTimeline([0.5, 2.5], ["sd2.", "ssxc"]),
                MigrationsPerPage = [3, 3, 4, 2],
            },
            new PolicyRun { Name = "remote", Policy = "remote", Metrics = new Dictionary<string, Metric> { ["useful_ops_per_s"] = new(3e6, "ops/s") }, Invariants = [new Invariant("totals_exact", false, "1 word differs")] },
        ])]);

    [Fact]
    public void Round_trip_keeps_every_field()
    {
        var doc = Sample();
        var back = ResultJson.Read(ResultJson.Write(doc));
        Assert.Equal(doc.Command, back.Command);
        Assert.Equal(doc.Started, back.Started);
        Assert.Equal(doc.Accelerator, back.Accelerator);
        Assert.Equal(doc.Environment, back.Environment);
        var (a, b) = (doc.Scenarios[0], back.Scenarios[0]);
        Assert.Equal(a.Parameters, b.Parameters);
        Assert.Equal(a.Runs[0].Metrics, b.Runs[0].Metrics);
        Assert.Equal(a.Runs[0].Invariants, b.Runs[0].Invariants);
        Assert.Equal(a.Runs[0].Timeline!.Samples, b.Runs[0].Timeline!.Samples);
        Assert.Equal(a.Runs[0].Timeline!.TimesMs, b.Runs[0].Timeline!.TimesMs);
        Assert.Equal(a.Runs[0].MigrationsPerPage, b.Runs[0].MigrationsPerPage);
        Assert.Null(b.Runs[1].Timeline);
        Assert.False(back.Held);
    }

    [Theory]
    [InlineData("", "not JSON")]
    [InlineData("[]", "$: expected an object, found an array")]
    [InlineData("{\"schema\":\"testbed.result/2\"}", "$.schema: expected \"testbed.result/1\"")]
    [InlineData("{\"schema\":\"testbed.result/1\"}", "$.started: missing")]
    public void Broken_documents_name_the_path(string json, string expected)
    {
        var e = Assert.Throws<ResultFormatException>(() => ResultJson.Read(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Every_truncation_and_byte_flip_of_a_valid_document_is_read_or_rejected_cleanly()
    {
        var json = ResultJson.Write(Sample());
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var chars = json.ToCharArray();
            var mutated = (i % 3) switch
            {
                0 => json[..random.Next(json.Length)],
                1 => Flip(chars, random),
                _ => json.Remove(random.Next(json.Length), 1),
            };
            try
            {
                ResultJson.Read(mutated);
            }
            catch (ResultFormatException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }
    }

    [Fact]
    public void Duplicate_keys_and_unknown_locations_are_rejected()
    {
        var json = ResultJson.Write(Sample());
        Assert.Contains("appears twice", Assert.Throws<ResultFormatException>(() => ResultJson.Read(json.Replace("\"pages\": \"4\"", "\"pages\": \"4\", \"pages\": \"5\"", StringComparison.Ordinal))).Message);
        Assert.Contains("is not a location", Assert.Throws<ResultFormatException>(() => ResultJson.Read(json.Replace("ssxc", "ssqc", StringComparison.Ordinal))).Message);
    }

    /// <summary>
    /// Values that pass the schema but would break the report (a histogram indexed by -1 or sized by
    /// 10^12, a timeline read past a short row, an axis parsed from a word) and a key named twice
    /// at the top level are refused with their path.
    /// </summary>
    [Theory]
    [InlineData("$.scenarios[0].runs[0].migrations_per_page[0]", "-1", "migrations_per_page[0]: expected a count (a whole number from 0 to 2147483647), found -1")]
    [InlineData("$.scenarios[0].runs[0].migrations_per_page[0]", "1e12", "migrations_per_page[0]: expected a count (a whole number from 0 to 2147483647), found 1e12")]
    [InlineData("$.scenarios[0].runs[0].migrations_per_page[1]", "1.5", "migrations_per_page[1]: expected a count")]
    [InlineData("$.scenarios[0].runs[0].timeline.samples[1]", "\"ss\"", "timeline.samples[1]: 2 characters, but samples[0] has 4")]
    [InlineData("$.scenarios[0].runs[0].settings.ratio", "\"abc\"", "runs[0].settings.ratio: \"abc\" is not a number, and the scenario's x_axis plots the runs against it")]
    [InlineData("$.scenarios[0].runs[1].settings.ratio", "\"NaN\"", "runs[1].settings.ratio: \"NaN\" is not a number")]
    public void Hostile_values_are_refused_with_their_path(string path, string value, string expected)
    {
        var root = JsonNode.Parse(ResultJson.Write(Sample()))!;
        root["scenarios"]![0]!["parameters"]!["x_axis"] = "ratio";
        var parent = path[..path.LastIndexOfAny(['.', '['])];
        var node = parent.Split('.', StringSplitOptions.RemoveEmptyEntries).Skip(1).Aggregate(root, Step);
        var leaf = path[parent.Length..];
        if (leaf.StartsWith('['))
        {
            node[int.Parse(leaf[1..^1], CultureInfo.InvariantCulture)] = JsonNode.Parse(value);
        }
        else
        {
            node[leaf[1..]] = JsonNode.Parse(value);
        }

        var error = Assert.Throws<ResultFormatException>(() => ResultJson.Read(root.ToJsonString()));
        Assert.StartsWith("$.scenarios[0].runs[", error.Message);
        Assert.Contains(expected, error.Message);

        static JsonNode Step(JsonNode at, string part) =>
            part.IndexOf('[', StringComparison.Ordinal) is var i and >= 0 ? at[part[..i]]![int.Parse(part[(i + 1)..^1], CultureInfo.InvariantCulture)]! : at[part]!;
    }

    [Fact]
    public void A_key_named_twice_at_the_top_level_is_refused()
    {
        var json = ResultJson.Write(Sample()).Replace("\"command\": \"run\"", "\"command\": \"run\", \"command\": \"suite\"", StringComparison.Ordinal);
        Assert.Equal("$.command: appears twice", Assert.Throws<ResultFormatException>(() => ResultJson.Read(json)).Message);
    }

    private static string Flip(char[] chars, Random random)
    {
        chars[random.Next(chars.Length)] = "{}[]\":,0a-"[random.Next(10)];
        return new string(chars);
    }
}
