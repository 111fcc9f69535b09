namespace Testbed.Scenarios;

/// <summary>A request a scenario cannot run as asked (a policy the link does not support, a coherence the accelerator cannot give); the CLI prints the message and exits 2.</summary>
public sealed class ScenarioInputException(string message) : Exception(message)
{
}
