using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Testbed.Results;

/// <summary>
/// Writes and reads <see cref="ResultDocument"/> as JSON. The reader checks every field it needs and
/// throws <see cref="ResultFormatException"/> naming the path of the first one that is missing or of
/// the wrong type, so a truncated or hand-edited file gives one clear line, never a stack trace:
/// a key named twice, a count that is negative, fractional or beyond 32 bits, a ragged timeline,
/// or an <c>x_axis</c> setting that is not a number is refused with its path, and the report then
/// only draws what it has checked.
/// </summary>
/// <remarks>
/// Layout: <c>{"schema", "command", "started", "duration_s", "accelerator": {name, backend, device,
/// coherence}, "environment": {os, cpu, dotnet, commit}, "scenarios": [{"scenario", "parameters":
/// {..}, "runs": [{"name", "policy", "settings": {..}, "metrics": {"NAME": {"value", "unit"}},
/// "invariants": [{"name", "held", "detail"}], "timeline"?: {"times_ms": [..], "samples": [..]},
/// "migrations_per_page"?: [..]}]}]}</c>. Parameters and settings are strings.
/// </remarks>
public static class ResultJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The document as indented JSON.</summary>
    public static string Write(ResultDocument doc)
    {
        ArgumentNullException.ThrowIfNull(doc);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("schema", ResultDocument.Schema);
            w.WriteString("command", doc.Command);
            w.WriteString("started", doc.Started.ToString("o", CultureInfo.InvariantCulture));
            w.WriteNumber("duration_s", Math.Round(doc.DurationSeconds, 3));
            w.WriteStartObject("accelerator");
            w.WriteString("name", doc.Accelerator.Name);
            w.WriteString("backend", doc.Accelerator.Backend);
            w.WriteString("device", doc.Accelerator.Device);
            w.WriteString("coherence", doc.Accelerator.Coherence);
            w.WriteEndObject();
            w.WriteStartObject("environment");
            w.WriteString("os", doc.Environment.Os);
            w.WriteString("cpu", doc.Environment.Cpu);
            w.WriteString("dotnet", doc.Environment.Dotnet);
            w.WriteString("commit", doc.Environment.Commit);
            w.WriteEndObject();
            w.WriteStartArray("scenarios");
            foreach (var s in doc.Scenarios)
            {
                WriteScenario(w, s);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Parses a document; <see cref="ResultFormatException"/> on anything that is not one.</summary>
    public static ResultDocument Read(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new ResultFormatException($"not JSON: {e.Message}");
        }

        using (parsed)
        {
            RefuseDuplicateKeys(parsed.RootElement, "$");
            var root = new Node(parsed.RootElement, "$");
            var schema = root.Field("schema").String();
            if (schema != ResultDocument.Schema)
            {
                throw new ResultFormatException($"$.schema: expected \"{ResultDocument.Schema}\", found \"{schema}\"");
            }

            var started = root.Field("started").String();
            if (!DateTimeOffset.TryParse(started, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var startedAt))
            {
                throw new ResultFormatException($"$.started: \"{started}\" is not an ISO 8601 time");
            }

            var acc = root.Field("accelerator");
            var env = root.Field("environment");
            return new ResultDocument(
                root.Field("command").String(),
                startedAt,
                root.Field("duration_s").Number(),
                new AcceleratorInfo(acc.Field("name").String(), acc.Field("backend").String(), acc.Field("device").String(), acc.Field("coherence").String()),
                new EnvironmentInfo(env.Field("os").String(), env.Field("cpu").String(), env.Field("dotnet").String(), env.Field("commit").String()),
                [.. root.Field("scenarios").Items().Select(ReadScenario)]);
        }
    }

    private static void WriteScenario(Utf8JsonWriter w, ScenarioResult s)
    {
        w.WriteStartObject();
        w.WriteString("scenario", s.Scenario);
        WriteStrings(w, "parameters", s.Parameters);
        w.WriteStartArray("runs");
        foreach (var r in s.Runs)
        {
            w.WriteStartObject();
            w.WriteString("name", r.Name);
            w.WriteString("policy", r.Policy);
            WriteStrings(w, "settings", r.Settings);
            w.WriteStartObject("metrics");
            foreach (var (name, m) in r.Metrics)
            {
                w.WriteStartObject(name);
                w.WriteNumber("value", double.IsFinite(m.Value) ? m.Value : 0);
                w.WriteString("unit", m.Unit);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("invariants");
            foreach (var i in r.Invariants)
            {
                w.WriteStartObject();
                w.WriteString("name", i.Name);
                w.WriteBoolean("held", i.Held);
                w.WriteString("detail", i.Detail);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (r.Timeline is { } t)
            {
                w.WriteStartObject("timeline");
                w.WriteStartArray("times_ms");
                foreach (var ms in t.TimesMs)
                {
                    w.WriteNumberValue(Math.Round(ms, 3));
                }

                w.WriteEndArray();
                w.WriteStartArray("samples");
                foreach (var sample in t.Samples)
                {
                    w.WriteStringValue(sample);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            if (r.MigrationsPerPage is { } mpp)
            {
                w.WriteStartArray("migrations_per_page");
                foreach (var n in mpp)
                {
                    w.WriteNumberValue(n);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> values)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in values)
        {
            w.WriteString(k, v);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// One scenario's result. Where its parameters name an <c>x_axis</c>, every run's setting of that
    /// name must be a finite number, since the report plots the runs' metrics against it.
    /// </summary>
    private static ScenarioResult ReadScenario(Node s)
    {
        var parameters = s.Field("parameters").Strings();
        var runs = s.Field("runs").Items().ToList();
        if (parameters.TryGetValue("x_axis", out var axis))
        {
            foreach (var run in runs)
            {
                if (run.Field("settings").Optional(axis) is { } x && !(double.TryParse(x.String(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)))
                {
                    throw new ResultFormatException($"{x.Path}: \"{x.String()}\" is not a number, and the scenario's x_axis plots the runs against it");
                }
            }
        }

        return new(s.Field("scenario").String(), parameters, [.. runs.Select(ReadRun)]);
    }

    /// <summary>
    /// Refuses an object that names a key twice, anywhere in the document: a reader keeps one of the
    /// two silently (System.Text.Json the last), so the file would not mean what it seems to.
    /// </summary>
    private static void RefuseDuplicateKeys(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in element.EnumerateObject())
            {
                if (!seen.Add(p.Name))
                {
                    throw new ResultFormatException($"{path}.{p.Name}: appears twice");
                }

                RefuseDuplicateKeys(p.Value, $"{path}.{p.Name}");
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in element.EnumerateArray())
            {
                RefuseDuplicateKeys(item, $"{path}[{i++}]");
            }
        }
    }

    private static PolicyRun ReadRun(Node r)
    {
        ResidencyTimeline? timeline = null;
        if (r.Optional("timeline") is { } t)
        {
            var times = t.Field("times_ms").Items().Select(n => n.Number()).ToList();
            var samples = t.Field("samples").Items().Select(n => n.String()).ToList();
            if (times.Count != samples.Count)
            {
                throw new ResultFormatException($"{t.Path}: {times.Count} times but {samples.Count} samples");
            }

            if (samples.Skip(1).Select((x, i) => (x.Length, Index: i + 1)).FirstOrDefault(x => x.Length != samples[0].Length) is { Index: > 0 } ragged)
            {
                throw new ResultFormatException($"{t.Path}.samples[{ragged.Index}]: {ragged.Length} characters, but samples[0] has {samples[0].Length} (every sample holds one character per page)");
            }

            if (samples.SelectMany(x => x).FirstOrDefault(c => !ResidencyTimeline.Locations.Contains(c)) is var bad and not '\0')
            {
                throw new ResultFormatException($"{t.Path}.samples: '{bad}' is not a location (one of \"{ResidencyTimeline.Locations}\")");
            }

            timeline = new ResidencyTimeline(times, samples);
        }

        return new PolicyRun
        {
            Name = r.Field("name").String(),
            Policy = r.Field("policy").String(),
            Settings = r.Field("settings").Strings(),
            Metrics = r.Field("metrics").Properties().ToDictionary(p => p.Name, p => new Metric(p.Node.Field("value").Number(), p.Node.Field("unit").String())),
            Invariants = [.. r.Field("invariants").Items().Select(i => new Invariant(i.Field("name").String(), i.Field("held").Bool(), i.Field("detail").String()))],
            Timeline = timeline,
            MigrationsPerPage = r.Optional("migrations_per_page") is { } m ? [.. m.Items().Select(n => n.Count())] : null,
        };
    }

    /// <summary>A JSON element with the path that leads to it, for error messages.</summary>
    private readonly record struct Node(JsonElement Element, string Path)
    {
        public Node Field(string name) => Optional(name) ?? throw new ResultFormatException($"{Path}.{name}: missing");

        public Node? Optional(string name)
        {
            Expect(JsonValueKind.Object, "an object");
            return Element.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? new Node(v, $"{Path}.{name}") : null;
        }

        public string String()
        {
            Expect(JsonValueKind.String, "a string");
            return Element.GetString()!;
        }

        public double Number()
        {
            Expect(JsonValueKind.Number, "a number");
            return Element.TryGetDouble(out var d) && double.IsFinite(d) ? d : throw new ResultFormatException($"{Path}: number out of range");
        }

        /// <summary>A whole number from 0 to <see cref="int.MaxValue"/>: a count.</summary>
        public int Count()
        {
            var d = Number();
            return d >= 0 && d <= int.MaxValue && Math.Floor(d) == d ? (int)d : throw new ResultFormatException($"{Path}: expected a count (a whole number from 0 to {int.MaxValue}), found {Element.GetRawText()}");
        }

        public bool Bool() => Element.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ResultFormatException($"{Path}: expected true or false, found {Describe(Element.ValueKind)}"),
        };

        public IEnumerable<Node> Items()
        {
            Expect(JsonValueKind.Array, "an array");
            var path = Path;
            return Element.EnumerateArray().Select((e, i) => new Node(e, $"{path}[{i}]"));
        }

        public IEnumerable<(string Name, Node Node)> Properties()
        {
            Expect(JsonValueKind.Object, "an object");
            var path = Path;
            return Element.EnumerateObject().Select(p => (p.Name, new Node(p.Value, $"{path}.{p.Name}")));
        }

        public IReadOnlyDictionary<string, string> Strings() => Properties().ToDictionary(p => p.Name, p => p.Node.String());

        private void Expect(JsonValueKind kind, string what)
        {
            if (Element.ValueKind != kind)
            {
                throw new ResultFormatException($"{Path}: expected {what}, found {Describe(Element.ValueKind)}");
            }
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };
    }
}
