using System.Text.Json;
using System.Text.Json.Serialization;
using Testbed.Scenarios;

namespace Testbed.Explore;

/// <summary>
/// A schedule the explorer found, written so that <c>testbed explore --replay FILE</c> runs exactly it
/// again: the target, the variant and the threads it ran with, the strategy and seed that found it,
/// which schedule it was, what it found, and Coyote's reproducible trace (every scheduling decision).
/// Schema <c>testbed.schedule/1</c>.
/// </summary>
public sealed record ScheduleFile
{
    /// <summary>The schema name and version.</summary>
    public const string SchemaName = "testbed.schedule/1";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>Always <see cref="SchemaName"/>.</summary>
    public string Schema { get; init; } = SchemaName;

    /// <summary>The target.</summary>
    public required string Target { get; init; }

    /// <summary>The variant.</summary>
    public required string Variant { get; init; }

    /// <summary>Threads, for targets that take a count.</summary>
    public required int Threads { get; init; }

    /// <summary>The strategy that found it.</summary>
    public required string Strategy { get; init; }

    /// <summary>The seed it was found with.</summary>
    public required uint Seed { get; init; }

    /// <summary>Which schedule of that search it was (1-based).</summary>
    public required int Schedule { get; init; }

    /// <summary>What it found.</summary>
    public required string Finding { get; init; }

    /// <summary>Coyote's reproducible trace.</summary>
    public required string Trace { get; init; }

    /// <summary>Writes the file.</summary>
    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads and checks a schedule file; anything wrong is a <see cref="ScenarioInputException"/> naming the file.</summary>
    public static ScheduleFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ScenarioInputException($"explore --replay: {path}: no such file");
        }

        ScheduleFile? file;
        try
        {
            file = JsonSerializer.Deserialize<ScheduleFile>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new ScenarioInputException($"explore --replay: {path}: not a schedule file ({e.Message})");
        }

        var problem = file is null ? "empty"
            : file.Schema != SchemaName ? $"schema '{file.Schema}', expected '{SchemaName}'"
            : ExploreTargets.Find(file.Target, file.Threads) is not { } t ? $"no target '{file.Target}' (targets: {string.Join(", ", ExploreTargets.Names)})"
            : file.Variant != t.Buggy && file.Variant != t.Fixed ? $"{file.Target} has no variant '{file.Variant}' ({t.Buggy}, {t.Fixed})"
            : file.Threads is < 2 or > 4 ? $"threads {file.Threads} is outside 2..4"
            : string.IsNullOrWhiteSpace(file.Trace) ? "no trace"
            : null;
        return problem is null ? file! : throw new ScenarioInputException($"explore --replay: {path}: {problem}");
    }
}
