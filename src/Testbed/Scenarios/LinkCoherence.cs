namespace Testbed.Scenarios;

/// <summary>
/// Whether device atomics on system memory are atomic with respect to the CPU. <see cref="Native"/>
/// takes what the accelerator reports; <see cref="NonCoherent"/> emulates a PCIe-like link where the
/// accelerator's is coherent (<c>KernelRunner.EmulateNonCoherentLink</c>).
/// </summary>
public enum LinkCoherence
{
    /// <summary>Whatever the accelerator has (the CPU accelerators: coherent).</summary>
    Native,

    /// <summary>Require a coherent link.</summary>
    Coherent,

    /// <summary>Require a non-coherent link, emulated where the hardware is coherent.</summary>
    NonCoherent,
}
