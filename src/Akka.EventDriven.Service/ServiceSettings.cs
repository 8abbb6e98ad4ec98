using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Http;

namespace Akka.EventDriven.Service;

/// <summary>
/// Everything the service reads from its environment. <see cref="FromEnvironment"/> checks every value, so a bad one
/// stops the process before anything starts, with a message naming the variable.
/// </summary>
public sealed partial class ServiceSettings
{
    /// <summary>The environment variables the service reads, in the order the README documents them.</summary>
    public static readonly IReadOnlyList<string> Variables =
    [
        "SERVICE_NAME", "AKKA_ENV", "DATABASE_URL", "KAFKA_BROKERS", "PORT", "HTTP_HOST", "AKKA_HOSTNAME", "AKKA_PORT",
        "AKKA_SEEDS", "EVENTDRIVEN_API_KEYS", "EVENTDRIVEN_MODULES",
    ];

    /// <summary>The actor system's name (<c>SERVICE_NAME</c>). Default <c>eventdriven</c>. Every node of a cluster uses the same.</summary>
    public string ServiceName { get; init; } = "eventdriven";

    /// <summary>The environment (<c>AKKA_ENV</c>): selects <c>hocon/&lt;env&gt;.conf</c>. Default <c>development</c>.</summary>
    public string Environment { get; init; } = "development";

    /// <summary>The PostgreSQL connection string (from <c>DATABASE_URL</c>), or null for the embedded SQLite file.</summary>
    public string? DatabaseUrl { get; init; }

    /// <summary>The Kafka brokers (<c>KAFKA_BROKERS</c>), or null for no Kafka.</summary>
    public string? KafkaBrokers { get; init; }

    /// <summary>The HTTP port (<c>PORT</c>). Default 3000.</summary>
    public int HttpPort { get; init; } = 3000;

    /// <summary>The HTTP bind address (<c>HTTP_HOST</c>): an IP address, <c>localhost</c>, or <c>0.0.0.0</c> / <c>*</c>
    /// for every interface. Default <c>0.0.0.0</c>.</summary>
    public string HttpHost { get; init; } = "0.0.0.0";

    /// <summary>The host name other nodes reach this one at (<c>AKKA_HOSTNAME</c>). Default: the environment file's.</summary>
    public string? AkkaHostname { get; init; }

    /// <summary>The cluster port (<c>AKKA_PORT</c>). Default: the environment file's (0 = any in development and test,
    /// 4053 in production).</summary>
    public int? AkkaPort { get; init; }

    /// <summary>The seed nodes as full addresses (<c>AKKA_SEEDS</c>). Empty: the node joins itself.</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary>The API keys (<c>EVENTDRIVEN_API_KEYS</c>). Required outside development.</summary>
    public IReadOnlyList<ApiKey> ApiKeys { get; init; } = [];

    /// <summary>The module assemblies (<c>EVENTDRIVEN_MODULES</c>): paths or assembly names.</summary>
    public IReadOnlyList<string> Modules { get; init; } = [];

    /// <summary>True in the development environment, where API keys are optional.</summary>
    public bool IsDevelopment => Environment == "development";

    /// <summary>The ASP.NET Core environment name: <c>development</c> becomes <c>Development</c> and so on.</summary>
    public string HostEnvironmentName => char.ToUpperInvariant(Environment[0]) + Environment[1..];

    /// <summary>The SQLite connection string used without <c>DATABASE_URL</c>: <c>data/&lt;SERVICE_NAME&gt;.db</c> under
    /// the current directory.</summary>
    public string SqliteConnectionString => $"Data Source={Path.Combine("data", ServiceName + ".db")}";

    // Akka.NET's actor system name rule.
    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_-]*$")]
    private static partial Regex SystemName();

    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    private static partial Regex EnvironmentName();

    /// <summary>Reads and checks the variables through <paramref name="get"/> (normally
    /// <see cref="System.Environment.GetEnvironmentVariable(string)"/>). <paramref name="hoconDirectory"/> is where
    /// the environment files are looked for (default: <c>hocon</c> beside the service).</summary>
    /// <exception cref="ServiceConfigurationException">A value is bad; the message names the variable.</exception>
    public static ServiceSettings FromEnvironment(Func<string, string?> get, string? hoconDirectory = null)
    {
        string? Get(string name) => get(name) is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

        var name = Get("SERVICE_NAME") ?? "eventdriven";
        if (!SystemName().IsMatch(name))
            throw new ServiceConfigurationException("SERVICE_NAME",
                $"'{name}' is not a valid actor system name: use letters, digits, '-' and '_', starting with a letter or digit.");

        var environment = (Get("AKKA_ENV") ?? "development").ToLowerInvariant();
        var directory = hoconDirectory ?? Path.Combine(AppContext.BaseDirectory, "hocon");
        if (!EnvironmentName().IsMatch(environment) || !File.Exists(Path.Combine(directory, environment + ".conf")))
        {
            var known = Directory.Exists(directory)
                ? string.Join(", ", Directory.GetFiles(directory, "*.conf").Select(Path.GetFileNameWithoutExtension).Order())
                : "none";
            throw new ServiceConfigurationException("AKKA_ENV",
                $"'{environment}' has no environment file hocon/{environment}.conf; use one of: {known}.");
        }

        string? database = null;
        if (Get("DATABASE_URL") is { } url)
        {
            try { database = StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url); }
            catch (Exception e)
            {
                throw new ServiceConfigurationException("DATABASE_URL",
                    $"not a PostgreSQL URL (postgresql://user:password@host:5432/database) or Npgsql connection string: {e.Message}", e);
            }
        }

        var brokers = Get("KAFKA_BROKERS");
        if (brokers is not null)
            foreach (var broker in brokers.Split(',', StringSplitOptions.TrimEntries))
                if (!TrySplitHostPort(broker, out _, out var p) || p == 0)
                    throw new ServiceConfigurationException("KAFKA_BROKERS", $"'{broker}' is not host:port (a comma list of them is expected).");

        var httpPort = Port("PORT", Get("PORT"), 3000, allowZero: false);
        var httpHost = Get("HTTP_HOST") ?? "0.0.0.0";
        if (httpHost is not ("*" or "localhost") && !IPAddress.TryParse(httpHost, out _))
            throw new ServiceConfigurationException("HTTP_HOST", $"'{httpHost}' is not an IP address, 'localhost' or '*'.");

        var akkaHost = Get("AKKA_HOSTNAME");
        if (akkaHost is not null && (akkaHost.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or ':' or '"') ||
                                     Uri.CheckHostName(akkaHost) == UriHostNameType.Unknown))
            throw new ServiceConfigurationException("AKKA_HOSTNAME", $"'{akkaHost}' is not a host name or IPv4 address.");
        int? akkaPort = Get("AKKA_PORT") is { } ap ? Port("AKKA_PORT", ap, 0, allowZero: true) : null;

        var seeds = new List<string>();
        foreach (var seed in (Get("AKKA_SEEDS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            seeds.Add(SeedAddress(seed, name));

        IReadOnlyList<ApiKey> keys;
        try { keys = ApiKey.ParseList(Get("EVENTDRIVEN_API_KEYS")); }
        catch (FormatException e) { throw new ServiceConfigurationException("EVENTDRIVEN_API_KEYS", e.Message, e); }
        if (keys.Count == 0 && environment != "development")
            throw new ServiceConfigurationException("EVENTDRIVEN_API_KEYS",
                $"no API key is configured, and outside development (AKKA_ENV={environment}) every endpoint but /health needs one: " +
                "set a comma list of key:role (role read or admin, keys of at least 16 characters).");

        var modules = (Get("EVENTDRIVEN_MODULES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        return new ServiceSettings
        {
            ServiceName = name, Environment = environment, DatabaseUrl = database, KafkaBrokers = brokers,
            HttpPort = httpPort, HttpHost = httpHost, AkkaHostname = akkaHost, AkkaPort = akkaPort, Seeds = seeds,
            ApiKeys = keys, Modules = modules,
        };
    }

    /// <summary>The HOCON overlay of these settings; it goes above the environment file.</summary>
    public string ToHocon()
    {
        var sb = new StringBuilder();
        if (AkkaHostname is { } host)
        {
            sb.Append($"akka.remote.dot-netty.tcp.hostname = {Quote(host)}\n");
            sb.Append($"akka.remote.dot-netty.tcp.public-hostname = {Quote(host)}\n");
        }
        if (AkkaPort is { } port) sb.Append($"akka.remote.dot-netty.tcp.port = {port}\n");
        sb.Append($"akka.cluster.seed-nodes = [{string.Join(", ", Seeds.Select(Quote))}]\n");
        // The service's rule, in every environment: without seeds a node forms a cluster of its own.
        sb.Append($"akka.event-driven.cluster.join-self-when-no-seed-nodes = {(Seeds.Count == 0 ? "on" : "off")}\n");
        if (KafkaBrokers is { } brokers) sb.Append($"akka.event-driven.kafka.bootstrap-servers = {Quote(brokers)}\n");
        // The generic host ends the process once coordinated shutdown (run by Akka.Hosting when the host stops) is done.
        sb.Append("akka.coordinated-shutdown.exit-clr = off\n");
        return sb.ToString();
    }

    private static string SeedAddress(string seed, string system)
    {
        if (seed.Contains("://"))
        {
            Akka.Actor.Address address;
            try { address = Akka.Actor.Address.Parse(seed); }
            catch (Exception e)
            {
                throw new ServiceConfigurationException("AKKA_SEEDS", $"'{seed}' is not an Akka address (akka.tcp://{system}@host:port): {e.Message}", e);
            }
            if (string.IsNullOrEmpty(address.Host) || address.Port is not > 0)
                throw new ServiceConfigurationException("AKKA_SEEDS", $"'{seed}' has no host and port (akka.tcp://{system}@host:port).");
            if (address.System != system)
                throw new ServiceConfigurationException("AKKA_SEEDS",
                    $"'{seed}' names actor system '{address.System}', but SERVICE_NAME is '{system}': a node joins only its own system.");
            return address.ToString();
        }
        if (!TrySplitHostPort(seed, out var host, out var port) || port == 0)
            throw new ServiceConfigurationException("AKKA_SEEDS", $"'{seed}' is neither host:port nor akka.tcp://{system}@host:port.");
        return $"akka.tcp://{system}@{host}:{port}";
    }

    private static bool TrySplitHostPort(string text, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out port) || port is < 0 or > 65535) return false;
        host = text[..colon];
        return Uri.CheckHostName(host) != UriHostNameType.Unknown;
    }

    private static int Port(string variable, string? text, int fallback, bool allowZero)
    {
        if (text is null) return fallback;
        if (!int.TryParse(text, out var port) || port < (allowZero ? 0 : 1) || port > 65535)
            throw new ServiceConfigurationException(variable, $"'{text}' is not a TCP port ({(allowZero ? 0 : 1)}-65535).");
        return port;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
