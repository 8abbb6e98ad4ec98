using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Akka.EventDriven.Http.Internal;

/// <summary>Authenticates <c>X-Api-Key</c> against the configured keys (compared in constant time over their SHA-256,
/// so neither a key's content nor its length leaks through timing); the role becomes a claim the policies check.</summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "EventDrivenApiKey";
    public const string Header = "X-Api-Key";
    public const string RoleClaim = "eventdriven-role";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.Required) return Task.FromResult(Success("anonymous", ApiRole.Admin));
        if (!Request.Headers.TryGetValue(Header, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
            return Task.FromResult(AuthenticateResult.NoResult());
        return Task.FromResult(keys.Find(values[0]!) is { } key
            ? Success(ApiKey.Mask(key.Key), key.Role)
            : AuthenticateResult.Fail("The API key is not valid."));
    }

    private AuthenticateResult Success(string name, ApiRole role)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name), new Claim(RoleClaim, role.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "ApiKey header=\"X-Api-Key\"";
        return Problems.Write(Context, StatusCodes.Status401Unauthorized, "API key required",
            Request.Headers.ContainsKey(Header) ? "The X-Api-Key header does not hold a valid key." : "Send an API key in the X-Api-Key header.",
            field: Header);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problems.Write(Context, StatusCodes.Status403Forbidden, "Admin key required",
            "This operation changes state an operator owns (replay, purge): it needs a key with the admin role.", field: Header);
}

/// <summary>The configured keys, hashed once.</summary>
internal sealed class ApiKeyStore
{
    private readonly (byte[] Hash, ApiKey Key)[] _keys;

    public ApiKeyStore(IReadOnlyList<ApiKey> keys, bool required)
    {
        _keys = keys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k)).ToArray();
        Required = required;
    }

    public bool Required { get; }

    public ApiKey? Find(string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ApiKey? found = null;
        foreach (var (h, key) in _keys) // every key is compared, whichever matches
            if (CryptographicOperations.FixedTimeEquals(h, hash)) found = key;
        return found;
    }
}
