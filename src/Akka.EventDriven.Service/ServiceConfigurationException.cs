namespace Akka.EventDriven.Service;

/// <summary>A bad or missing environment variable; the message names the variable and says what is expected.</summary>
public sealed class ServiceConfigurationException : Exception
{
    /// <summary>Creates the exception for <paramref name="variable"/>.</summary>
    public ServiceConfigurationException(string variable, string message, Exception? inner = null)
        : base($"{variable}: {message}", inner) => Variable = variable;

    /// <summary>The environment variable at fault, such as <c>AKKA_SEEDS</c>.</summary>
    public string Variable { get; }
}
