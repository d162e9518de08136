"""Log-in with a second factor, and its set-up pages (django-two-factor-auth).

``LoginView`` is two-factor-auth's wizard (password, then the authenticator
code or a recovery code) with what the trial adds: a wrong code counts as a
failed login for django-axes (``perform.mfa``), and once the account is locked
the code step refuses even the right code until the cool-off ends. The set-up,
QR code and recovery-code pages are the library's own views, restyled by the
templates in ``templates/two_factor/``.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST
from two_factor.views import DisableView as TwoFactorDisableView
from two_factor.views import LoginView as TwoFactorLoginView
from two_factor.views import ProfileView as TwoFactorProfileView
from two_factor.views import SetupView as TwoFactorSetupView

from perform import api_tokens, mfa
from perform.forms import LoginForm


class LoginView(TwoFactorLoginView):
    CODE_STEPS = (TwoFactorLoginView.TOKEN_STEP, TwoFactorLoginView.BACKUP_STEP)
    # The password step refuses an over-long username before authenticate().
    form_list = (
        (TwoFactorLoginView.AUTH_STEP, LoginForm),
        *TwoFactorLoginView.form_list[1:],
    )

    def _credentials(self) -> dict | None:
        user = self.get_user()
        return {"username": user.get_username()} if user else None

    def post(self, *args, **kwargs):
        credentials = self._credentials()
        if (
            self.steps.current in self.CODE_STEPS
            and credentials
            and AxesProxyHandler.is_locked(self.request, credentials)
        ):
            # Locked while at the code step (by wrong codes, or wrong
            # passwords elsewhere): start again after the cool-off.
            self.storage.reset()
            self.request.axes_locked_out = True
            self.request.axes_credentials = credentials
            return self.render_goto_step(self.FIRST_STEP)
        return super().post(*args, **kwargs)

    def render(self, form=None, **kwargs):
        credentials = self._credentials()
        if (
            form is not None
            and form.is_bound
            and form.errors
            and self.steps.current in self.CODE_STEPS
            and credentials
        ):
            mfa.otp_failure(self.request, username=credentials["username"])
        return super().render(form, **kwargs)


class SetupView(TwoFactorSetupView):
    """The library's set-up wizard, saying when the role requires it, and
    only while the account has no authenticator: a second one would let a
    stolen session (verified or not) add its own device without a code."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and mfa.otp_enabled(request.user):
            messages.info(
                request,
                "Your account already has an authenticator. To change phones, "
                "ask the system owner to reset it.",
            )
            return redirect("two_factor:profile")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form, **kwargs)
        context["required_for_role"] = mfa.otp_required(self.request.user)
        return context


class ProfileView(TwoFactorProfileView):
    """Account security: the second factor, recovery codes and API tokens."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["may_disable"] = not mfa.otp_required(self.request.user)
        context["api_tokens"] = list(api_tokens.api_tokens_of(self.request.user))
        return context


class DisableView(TwoFactorDisableView):
    """Turning the second factor off: not for an account whose role needs it."""

    success_url = reverse_lazy("two_factor:profile")

    def dispatch(self, request, *args, **kwargs):
        if mfa.otp_required(request.user):
            raise PermissionDenied(
                "Your role requires two-factor authentication: it cannot be turned off."
            )
        return super().dispatch(request, *args, **kwargs)


@require_POST
def api_tokens_revoke(request):
    """Revoke every API token of the logged-in user (Account security)."""
    count = api_tokens.api_tokens_revoke(
        user_id=request.user.pk, why="revoked on the account page"
    )
    messages.success(request, f"{count} API token{pluralize(count)} revoked.")
    return redirect("two_factor:profile")
