# Install pi-agent as a Windows service (run in an elevated PowerShell).
#   .\install.ps1 -Binary .\pi-agent-win-x64.exe -WinSW .\WinSW-x64.exe [-Config .\pi-agent.yaml] [-Account 'DOMAIN\svc-pi-agent$']
# Upgrades keep %ProgramData%\pi-agent (config and state); the new agent migrates the store.
param(
  [Parameter(Mandatory = $true)] [string] $Binary,
  [Parameter(Mandatory = $true)] [string] $WinSW,
  [string] $Config,
  [string] $Account
)
$ErrorActionPreference = 'Stop'
$dir = Join-Path $env:ProgramFiles 'pi-agent'
$data = Join-Path $env:ProgramData 'pi-agent'
# The default state_dir ./state (the service's working directory is $data); its logs folder holds the agent's and WinSW's logs.
New-Item -ItemType Directory -Force -Path $dir, $data, (Join-Path $data 'state\logs') | Out-Null
$existing = Get-Service -Name 'pi-agent' -ErrorAction SilentlyContinue
if ($existing) { & (Join-Path $dir 'pi-agent-service.exe') stop | Out-Null }
Copy-Item $Binary (Join-Path $dir 'pi-agent.exe') -Force
Copy-Item $WinSW (Join-Path $dir 'pi-agent-service.exe') -Force
Copy-Item (Join-Path $PSScriptRoot 'pi-agent.xml') (Join-Path $dir 'pi-agent-service.xml') -Force
if ($Config -and -not (Test-Path (Join-Path $data 'pi-agent.yaml'))) { Copy-Item $Config (Join-Path $data 'pi-agent.yaml') }
# Config and state readable only by SYSTEM, Administrators and the service account.
$acl = 'SYSTEM:(OI)(CI)F', 'Administrators:(OI)(CI)F'
if ($Account) { $acl += "${Account}:(OI)(CI)M" }
icacls $data /inheritance:r /grant:r $acl | Out-Null
if (-not $existing) { & (Join-Path $dir 'pi-agent-service.exe') install | Out-Null }
if ($Account) { sc.exe config pi-agent obj= $Account | Out-Null }
& (Join-Path $dir 'pi-agent-service.exe') start | Out-Null
Write-Host "pi-agent installed. Status: & '$dir\pi-agent.exe' status --config '$data\pi-agent.yaml'"
