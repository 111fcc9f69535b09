namespace Testbed.Results;

/// <summary>The accelerator a result was measured on: its name, backend, device and link coherence (<c>coherent</c> or <c>noncoherent</c>).</summary>
public sealed record AcceleratorInfo(string Name, string Backend, string Device, string Coherence);
