using Testbed.Kernels.Accelerators;
using Testbed.Kernels.Runners;

namespace Testbed.Scenarios;

/// <summary>What a scenario runs with: the settings, the accelerator to create runners on, and where to report progress.</summary>
public sealed class ScenarioContext(ScenarioSettings settings, AcceleratorEntry accelerator, Action<string>? status = null)
{
    /// <summary>
    /// The emulated non-coherent link's delay between a device atomic's read and its write, in steps
    /// (memory fences): about 75 µs on the 2-core CI machine, long enough that a CPU update lands in
    /// between often, so lost updates show within a CI-sized run.
    /// </summary>
    public const int LinkDelaySteps = 12_000;

    /// <summary>The settings.</summary>
    public ScenarioSettings Settings { get; } = settings;

    /// <summary>The accelerator every runner of the run is created on.</summary>
    public AcceleratorEntry Accelerator { get; } = accelerator;

    /// <summary>The value of the scenario option <paramref name="name"/> (the CLI fills in defaults).</summary>
    public string Option(string name) => Settings.Options.TryGetValue(name, out var v) ? v : throw new ScenarioInputException($"option --{name} has no value");

    /// <summary>The value of <paramref name="option"/>, or its default when the settings leave it out.</summary>
    public string Option(ScenarioOption option)
    {
        ArgumentNullException.ThrowIfNull(option);
        return Settings.Options.TryGetValue(option.Name, out var v) ? v : option.Default;
    }

    /// <summary>Reports what the run is doing now (shown as progress on a terminal).</summary>
    public void Status(string text) => status?.Invoke(text);

    /// <summary>
    /// A runner on <see cref="Accelerator"/> with the link <paramref name="coherence"/> asks for:
    /// <see cref="LinkCoherence.NonCoherent"/> emulates a non-coherent link where the hardware's is
    /// coherent (the emulation is kernel code, so it works on every accelerator); asking for a coherent
    /// link on a device without host-native atomics is a <see cref="ScenarioInputException"/>.
    /// </summary>
    public KernelRunner CreateRunner(LinkCoherence coherence)
    {
        var runner = Accelerator.CreateRunner();
        if (coherence == LinkCoherence.NonCoherent && runner.HostAtomicsCoherent)
        {
            runner.EmulateNonCoherentLink(LinkDelaySteps);
        }
        else if (coherence == LinkCoherence.Coherent && !runner.HostAtomicsCoherent)
        {
            runner.Dispose();
            throw new ScenarioInputException($"{Accelerator.Kind.Name()}'s link is not coherent (the device has no host-native atomics)");
        }

        return runner;
    }

    /// <summary>The link coherence of <paramref name="runner"/>, as the JSON names it.</summary>
    public static string Describe(KernelRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        return runner.HostAtomicsCoherent ? "coherent" : "noncoherent";
    }
}
